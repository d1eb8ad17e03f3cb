//! Raster tiles plugin: draws the tiles of a [`TileSource`] (XYZ folder or MBTiles) under the
//! vector overlays, tracks and vehicle. Each frame it works out which tiles cover the view at the
//! zoom that matches the map's metres per pixel, loads the missing ones within a small per-frame
//! budget (so panning never stalls the UI; the rest arrive over the next frames), keeps decoded
//! tiles in an LRU cache and shows exactly the wanted set as sprites. A tile that cannot be read
//! or decoded is skipped with one log line and counted; the map keeps going.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use bevy::asset::RenderAssetUsages;
use bevy::image::Image;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use bevy::window::PrimaryWindow;

use super::GroundSet;
use super::map::{MapCamera, MapView};
use crate::map::MapProjection;
use crate::map::tiles::{TileId, TileImage, TileSource, covering, zoom_for};

/// Tiles decoded per frame at most (a PNG tile decodes in about a millisecond).
pub const LOAD_BUDGET_PER_FRAME: usize = 4;
/// Decoded tiles kept (256 tiles of 256x256 RGBA = 64 MiB).
pub const CACHE_TILES: usize = 256;
/// Most tiles shown at once; beyond it a lower zoom is used.
pub const MAX_VISIBLE: usize = 96;
/// Drawing depth of tiles: below overlays, tracks and the vehicle.
const TILE_Z: f32 = -10.0;
/// View size assumed without a window (headless tests), pixels.
const DEFAULT_VIEW_PX: Vec2 = Vec2::new(1600.0, 900.0);

/// The tile source and what has been loaded from it.
#[derive(Resource, Default)]
pub struct TileLayer {
    /// The source (SQLite connections are not `Sync`, hence the mutex).
    pub source: Option<Mutex<TileSource>>,
    /// Zoom range of the source.
    pub zooms: (u8, u8),
    /// Decoded tiles, by id.
    images: HashMap<TileId, Handle<Image>>,
    /// Cache order, oldest first.
    lru: VecDeque<TileId>,
    /// Sprites on the map.
    shown: HashMap<TileId, Entity>,
    /// Sprites of tiles no longer wanted, kept under the new ones until those have loaded.
    stale: HashMap<TileId, Entity>,
    /// Tiles that failed (skipped from now on, logged once).
    pub broken: HashSet<TileId>,
    /// Tiles the source does not have.
    absent: HashSet<TileId>,
    /// Tiles loaded so far.
    pub loaded: u64,
    /// Zoom of the tiles on screen.
    pub zoom: Option<u8>,
}

impl TileLayer {
    /// A layer drawing `source`.
    pub fn new(source: TileSource) -> Self {
        Self {
            zooms: source.zooms(),
            source: Some(Mutex::new(source)),
            ..Self::default()
        }
    }

    /// Tiles on screen now.
    pub fn shown(&self) -> impl Iterator<Item = &TileId> {
        self.shown.keys()
    }

    fn remember(&mut self, id: TileId, handle: Handle<Image>) {
        self.images.insert(id, handle);
        self.lru.push_back(id);
        while self.lru.len() > CACHE_TILES {
            if let Some(old) = self.lru.pop_front() {
                self.images.remove(&old);
            }
        }
    }
}

/// Draws raster tiles when a [`TileLayer`] with a source is present.
pub struct TilesPlugin;

impl Plugin for TilesPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<TileLayer>()
            .add_systems(Update, update_tiles.in_set(GroundSet::Draw));
    }
}

fn to_image(t: TileImage) -> Image {
    Image::new(
        Extent3d {
            width: t.width,
            height: t.height,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        t.rgba,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    )
}

/// The tiles covering the camera's view (any rotation) at the matching zoom.
fn wanted(view: &MapView, centre: Vec2, m_per_px: f32, view_px: Vec2, zooms: (u8, u8)) -> Vec<TileId> {
    let Some(p) = view.projection else {
        return Vec::new();
    };
    // Half the view's diagonal covers it at any rotation.
    let r = 0.5 * view_px.length() * m_per_px;
    let (w, s) = p.to_lonlat(centre.x - r, centre.y - r);
    let (e, n) = p.to_lonlat(centre.x + r, centre.y + r);
    let (_, lat) = p.to_lonlat(centre.x, centre.y);
    let mut z = zoom_for(f64::from(m_per_px), lat, zooms.0, zooms.1);
    loop {
        if let Some(tiles) = covering([w, s, e, n], z, MAX_VISIBLE) {
            return tiles;
        }
        if z <= zooms.0 {
            // Zoomed out beyond what the source covers sensibly: no tiles.
            return Vec::new();
        }
        z -= 1;
    }
}

/// Where the sprite of `id` goes: its projected bounds' centre, at depth `z`.
fn tile_transform(p: &MapProjection, id: TileId, z: f32) -> (Transform, Vec2) {
    let [w_deg, s_deg, e_deg, n_deg] = id.bounds_deg();
    let sw = Vec2::from(p.to_xy(w_deg, s_deg));
    let ne = Vec2::from(p.to_xy(e_deg, n_deg));
    let centre = (sw + ne) / 2.0;
    (Transform::from_xyz(centre.x, centre.y, z), ne - sw)
}

fn update_tiles(
    mut commands: Commands,
    mut layer: ResMut<TileLayer>,
    view: Res<MapView>,
    images: Option<ResMut<Assets<Image>>>,
    cam: Query<(&Transform, &Projection), With<MapCamera>>,
    window: Query<&Window, With<PrimaryWindow>>,
) {
    let (Some(_), Some(mut images), Ok((t, proj)), Some(p)) = (&layer.source, images, cam.single(), view.projection)
    else {
        return;
    };
    let Projection::Orthographic(ortho) = proj else {
        return;
    };
    let view_px = window
        .single()
        .map(|w| Vec2::new(w.width(), w.height()))
        .unwrap_or(DEFAULT_VIEW_PX);
    let want = wanted(&view, t.translation.truncate(), ortho.scale, view_px, layer.zooms);
    let layer = &mut *layer;
    layer.zoom = want.first().map(|t| t.z);
    let want_set: HashSet<TileId> = want.iter().copied().collect();
    let mut budget = LOAD_BUDGET_PER_FRAME;
    let mut pending = 0usize;
    for id in want {
        if layer.shown.contains_key(&id) || layer.broken.contains(&id) || layer.absent.contains(&id) {
            continue;
        }
        if let Some(e) = layer.stale.remove(&id) {
            // Wanted again before it was removed: back on top.
            commands.entity(e).insert(tile_transform(&p, id, TILE_Z).0);
            layer.shown.insert(id, e);
            continue;
        }
        let handle = match layer.images.get(&id) {
            Some(h) => h.clone(),
            None => {
                if budget == 0 {
                    pending += 1;
                    continue;
                }
                let loaded = layer
                    .source
                    .as_ref()
                    .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).load(id));
                match loaded {
                    Some(Ok(Some(img))) => {
                        // The budget counts decoded tiles; asking for an absent one is cheap.
                        budget -= 1;
                        let h = images.add(to_image(img));
                        layer.loaded += 1;
                        layer.remember(id, h.clone());
                        h
                    }
                    Some(Ok(None)) | None => {
                        layer.absent.insert(id);
                        continue;
                    }
                    Some(Err(e)) => {
                        budget -= 1;
                        warn!("{e}: skipped");
                        layer.broken.insert(id);
                        continue;
                    }
                }
            }
        };
        let (tf, size) = tile_transform(&p, id, TILE_Z);
        let entity = commands
            .spawn((
                Sprite {
                    image: handle,
                    custom_size: Some(size),
                    ..default()
                },
                tf,
            ))
            .id();
        layer.shown.insert(id, entity);
    }
    // Tiles no longer wanted (panned away, another zoom) stay one step lower until every wanted
    // tile is on screen, so a zoom never shows a blank map while the new tiles load.
    let gone: Vec<TileId> = layer
        .shown
        .keys()
        .filter(|id| !want_set.contains(id))
        .copied()
        .collect();
    for id in gone {
        if let Some(e) = layer.shown.remove(&id) {
            commands.entity(e).insert(tile_transform(&p, id, TILE_Z - 1.0).0);
            layer.stale.insert(id, e);
        }
    }
    if pending == 0 {
        for (_, e) in layer.stale.drain() {
            commands.entity(e).despawn();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::tiles::TILE_PX;

    fn png(rgb: [u8; 3]) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(TILE_PX, TILE_PX, image::Rgb(rgb));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    /// An XYZ folder with every zoom-17 tile around (59.394, 17.902) and one of them corrupt; a
    /// headless app with the map camera there shows sprites for the good tiles, skips the broken
    /// one (counted), and follows the camera when it moves away.
    #[test]
    fn headless_app_shows_visible_tiles_and_skips_a_broken_one() {
        let dir = tempfile::tempdir().unwrap();
        let (lat, lon) = (59.394, 17.902);
        let centre = TileId::containing(lon, lat, 17);
        let broken = TileId {
            x: centre.x + 1,
            ..centre
        };
        for dx in -4i32..=4 {
            for dy in -4i32..=4 {
                let (x, y) = ((centre.x as i32 + dx) as u32, (centre.y as i32 + dy) as u32);
                let d = dir.path().join("17").join(x.to_string());
                std::fs::create_dir_all(&d).unwrap();
                let bytes = if (TileId { z: 17, x, y }) == broken {
                    b"not a png".to_vec()
                } else {
                    png([200, 200, 190])
                };
                std::fs::write(d.join(format!("{y}.png")), bytes).unwrap();
            }
        }
        // Zoom 18 too, in another colour, for the zoom change below.
        let c18 = TileId::containing(lon, lat, 18);
        for dx in -6i32..=6 {
            for dy in -6i32..=6 {
                let (x, y) = ((c18.x as i32 + dx) as u32, (c18.y as i32 + dy) as u32);
                let d = dir.path().join("18").join(x.to_string());
                std::fs::create_dir_all(&d).unwrap();
                std::fs::write(d.join(format!("{y}.png")), png([180, 190, 200])).unwrap();
            }
        }
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, bevy::asset::AssetPlugin::default()))
            .init_asset::<Image>()
            .configure_sets(Update, (GroundSet::Ingest, GroundSet::World, GroundSet::Draw).chain())
            .insert_resource(TileLayer::new(TileSource::open(dir.path()).unwrap()))
            .add_plugins(TilesPlugin);
        let mut view = MapView::default();
        view.set_origin(lat, lon);
        app.insert_resource(view);
        // 0.5 m per screen pixel: zoom 17 tiles (0.61 m/px).
        let cam = app
            .world_mut()
            .spawn((
                MapCamera,
                Transform::default(),
                Projection::Orthographic(OrthographicProjection {
                    scale: 0.5,
                    ..OrthographicProjection::default_2d()
                }),
            ))
            .id();
        for _ in 0..40 {
            app.update();
        }
        let layer = app.world().resource::<TileLayer>();
        assert_eq!(layer.zoom, Some(17));
        assert!(layer.broken.contains(&broken), "the corrupt tile is counted");
        let shown: HashSet<TileId> = layer.shown().copied().collect();
        assert!(shown.contains(&centre), "{shown:?}");
        assert!(!shown.contains(&broken));
        // 1600x900 px at 0.5 m/px: radius ~460 m -> about 7x13 tiles of 156 m x 80 m... all the
        // present ones within it, the absent ones (outside the folder) quietly not.
        assert!(shown.len() >= 20, "{}", shown.len());
        let sprites = app.world_mut().query::<&Sprite>().iter(app.world()).count();
        assert_eq!(sprites, shown.len());
        // The sprite of the centre tile sits on its projected bounds.
        let p = MapProjection::new(lat, lon);
        let [w, s, e, n] = centre.bounds_deg();
        let (sw, ne) = (Vec2::from(p.to_xy(w, s)), Vec2::from(p.to_xy(e, n)));
        let e_centre = app.world().resource::<TileLayer>().shown[&centre];
        let tf = app.world().get::<Transform>(e_centre).unwrap();
        assert!((tf.translation.truncate() - (sw + ne) / 2.0).length() < 0.01);
        assert!(tf.translation.z < 0.0, "under the overlays");

        // Zoom in to 0.25 m per pixel (zoom 18): the zoom-17 sprites stay under the first
        // zoom-18 ones while those load, a few per frame, then go.
        let sprites = |app: &mut App| app.world_mut().query::<&Sprite>().iter(app.world()).count();
        let n17 = shown.len();
        if let Projection::Orthographic(o) = &mut *app.world_mut().get_mut::<Projection>(cam).unwrap() {
            o.scale = 0.25;
        }
        app.update();
        let layer = app.world().resource::<TileLayer>();
        assert_eq!(layer.zoom, Some(18));
        let first = layer.shown().count();
        assert!(first <= LOAD_BUDGET_PER_FRAME, "{first}");
        assert_eq!(
            sprites(&mut app),
            first + n17,
            "the old zoom stays until the new one is in"
        );
        for _ in 0..40 {
            app.update();
        }
        let layer = app.world().resource::<TileLayer>();
        let n18 = layer.shown().count();
        assert!(n18 > LOAD_BUDGET_PER_FRAME && layer.shown().all(|t| t.z == 18), "{n18}");
        assert_eq!(sprites(&mut app), n18, "and then goes");

        // Move 5 km east: nothing there, every sprite gone.
        app.world_mut().get_mut::<Transform>(cam).unwrap().translation.x = 5_000.0;
        app.update();
        assert_eq!(app.world().resource::<TileLayer>().shown().count(), 0);
        assert_eq!(app.world_mut().query::<&Sprite>().iter(app.world()).count(), 0);
    }
}
