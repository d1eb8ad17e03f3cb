//! Console plugin: the operator console ([`crate::console`]) on standard input, for the headless
//! ground station. A thread reads lines (so a slow terminal never stalls the link); each frame
//! the lines are run against the same [`OpsRes`] and world the panels use, replies go to
//! standard output, and authorization commands go to the drone over the live link, signed.

use std::io::BufRead;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy::window::PrimaryWindow;
use crossbeam_channel::Receiver;

use super::link::MessageSource;
use super::map::MapCamera;
use super::session::OpsRes;
use super::{GroundSet, WorldRes};
use crate::audit_log::wall_clock_usec;
use crate::console::Console;

/// Lines typed by the operator.
#[derive(Resource)]
struct ConsoleInput {
    lines: Receiver<String>,
    console: Console,
}

/// Reads commands from standard input (needs [`OpsRes`]; without it there is nothing to do).
pub struct ConsolePlugin;

impl Plugin for ConsolePlugin {
    fn build(&self, app: &mut App) {
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("console-stdin".into())
            .spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .expect("spawning the console thread");
        println!("console: type `help` for commands");
        app.insert_resource(ConsoleInput {
            lines: rx,
            console: Console::default(),
        })
        .add_systems(
            Update,
            run_lines.after(GroundSet::World).run_if(resource_exists::<OpsRes>),
        );
    }
}

fn run_lines(
    mut input: ResMut<ConsoleInput>,
    mut ops: ResMut<OpsRes>,
    mut world: ResMut<WorldRes>,
    source: Res<MessageSource>,
    window: Query<(), With<PrimaryWindow>>,
    mut commands: Commands,
    mut exit: MessageWriter<AppExit>,
    mut map_cam: Query<&mut Projection, With<MapCamera>>,
) {
    let input = &mut *input;
    while let Ok(line) = input.lines.try_recv() {
        let ops = &mut *ops;
        let secret = input.console.wants_password();
        if !secret && !line.trim().is_empty() {
            println!("> {}", line.trim());
        }
        match input
            .console
            .line(&line, &mut ops.ops, &mut world.0, &ops.export_dir, wall_clock_usec())
        {
            Ok(reply) => {
                if !reply.text.is_empty() {
                    println!("{}", reply.text);
                }
                if reply.quit {
                    exit.write(AppExit::Success);
                }
                if let Some(m) = reply.map_m_per_px {
                    for mut proj in &mut map_cam {
                        if let Projection::Orthographic(o) = &mut *proj {
                            o.scale = m;
                        }
                    }
                }
                if let Some(path) = reply.screenshot {
                    if window.is_empty() {
                        println!("refused: no window to take a picture of (headless)");
                    } else {
                        println!("saving the window to {}", path.display());
                        commands.spawn(Screenshot::primary_window()).observe(save_to_disk(path));
                    }
                }
                // A hit plate's path just queried (and logged): the map draws it (`hit_path`).
                if let Some(path) = reply.hit_path {
                    commands.insert_resource(super::hit_path::HitPathView(Some(path)));
                }
                if let Some((target, msg)) = reply.send {
                    match &*source {
                        MessageSource::Live(link) => link.send(target, msg),
                        _ => println!("no live link: command logged but not sent"),
                    }
                }
            }
            Err(e) => println!("refused: {e}"),
        }
    }
}
