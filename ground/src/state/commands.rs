//! Authorization commands (STOP, REVOKE, ACTIVATE, URGENT_*) until the drone confirms them. A
//! command sent once over a radio that loses packets may never arrive, and an operator who was
//! told "stopped" while the drone keeps identifying faces is worse than no STOP button. So every
//! command stays *pending* (shown and logged as such, never as done) and is resent every
//! [`Commands::resend_interval_s`] until the drone's UTKIK_AUTHZ_STATUS echoes its request id;
//! a STOP still pending after [`Commands::stop_alarm_s`] raises an alarm.
//!
//! Only the newest command per vehicle is resent: lifecycle commands are steps of one state
//! machine, and resending an ACTIVATE after the STOP that followed it would start the use again.
//! An older pending command is *superseded* when a newer one is sent (shown as such). The drone
//! answers a resend of the request it handled last with its stored result without applying it
//! twice (`onboard::gate::identify`).
//!
//! Times are seconds of the world's clock (Unix seconds live), passed in: tests drive them.

use std::collections::BTreeMap;

use utkik_shared::dialect::{
    MavMessage, MavResult, UTKIK_AUTHZ_COMMAND_DATA, UTKIK_AUTHZ_STATUS_DATA, UtkikAuthzCommand,
};

/// Default resend interval, seconds.
pub const DEFAULT_RESEND_INTERVAL_S: f64 = 1.0;
/// Default time after which an unconfirmed STOP raises the alarm, seconds.
pub const DEFAULT_STOP_ALARM_S: f64 = 5.0;
/// Finished commands kept for display.
const HISTORY: usize = 32;

/// Where a command is.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandState {
    /// Sent, not yet confirmed: resent until it is.
    Pending,
    /// The drone's status echoed the request id with this result.
    Confirmed(MavResult),
    /// A newer command to the same vehicle was sent before this one was confirmed.
    Superseded,
}

/// One command sent to a vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct SentCommand {
    /// Vehicle.
    pub system_id: u8,
    /// The message (resent as it is; the link signs each send anew).
    pub message: UTKIK_AUTHZ_COMMAND_DATA,
    /// First send, seconds.
    pub first_sent_s: f64,
    /// Last send, seconds.
    pub last_sent_s: f64,
    /// Sends so far.
    pub sends: u32,
    /// State.
    pub state: CommandState,
    /// When it was confirmed or superseded, seconds.
    pub settled_s: Option<f64>,
    /// The STOP alarm was raised for it.
    pub alarmed: bool,
}

impl SentCommand {
    /// Short name of the command (STOP, ACTIVATE...).
    pub fn name(&self) -> &'static str {
        command_name(self.message.command)
    }

    /// One line for the console and the panel.
    pub fn describe(&self, now_s: f64) -> String {
        let what = format!(
            "{} request {} to vehicle {}",
            self.name(),
            self.message.request_id,
            self.system_id
        );
        match &self.state {
            CommandState::Pending => format!(
                "{what}: PENDING, not confirmed by the drone ({} sends, {:.1} s){}",
                self.sends,
                now_s - self.first_sent_s,
                if self.alarmed { " -- ALARM" } else { "" }
            ),
            CommandState::Confirmed(r) => format!(
                "{what}: {} by the drone after {:.1} s",
                if *r == MavResult::MAV_RESULT_ACCEPTED {
                    "confirmed"
                } else {
                    "REFUSED"
                },
                self.settled_s.unwrap_or(now_s) - self.first_sent_s
            ),
            CommandState::Superseded => format!("{what}: superseded by a newer command before the drone confirmed it"),
        }
    }
}

/// Short name of a command.
pub fn command_name(c: UtkikAuthzCommand) -> &'static str {
    use UtkikAuthzCommand as C;
    match c {
        C::UTKIK_AUTHZ_COMMAND_ACTIVATE => "ACTIVATE",
        C::UTKIK_AUTHZ_COMMAND_STOP => "STOP",
        C::UTKIK_AUTHZ_COMMAND_REVOKE => "REVOKE",
        C::UTKIK_AUTHZ_COMMAND_URGENT_START => "URGENT_START",
        C::UTKIK_AUTHZ_COMMAND_URGENT_APPLIED => "URGENT_APPLIED",
        C::UTKIK_AUTHZ_COMMAND_URGENT_REFUSED => "URGENT_REFUSED",
    }
}

/// Something the operator must hear about.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandEvent {
    /// The drone confirmed (or refused) a command.
    Settled(SentCommand),
    /// A STOP is still unconfirmed after [`Commands::stop_alarm_s`].
    StopAlarm(SentCommand),
}

/// Commands per vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct Commands {
    /// Newest command per vehicle (pending or settled).
    latest: BTreeMap<u8, SentCommand>,
    /// Settled or superseded commands, oldest first.
    history: Vec<SentCommand>,
    events: Vec<CommandEvent>,
    /// Resend interval of a pending command, seconds.
    pub resend_interval_s: f64,
    /// An unconfirmed STOP alarms after this long, seconds.
    pub stop_alarm_s: f64,
}

impl Default for Commands {
    fn default() -> Self {
        Self {
            latest: BTreeMap::new(),
            history: Vec::new(),
            events: Vec::new(),
            resend_interval_s: DEFAULT_RESEND_INTERVAL_S,
            stop_alarm_s: DEFAULT_STOP_ALARM_S,
        }
    }
}

impl Commands {
    /// A command was sent for the first time at `now_s`.
    pub fn sent(&mut self, system_id: u8, message: &UTKIK_AUTHZ_COMMAND_DATA, now_s: f64) {
        let new = SentCommand {
            system_id,
            message: message.clone(),
            first_sent_s: now_s,
            last_sent_s: now_s,
            sends: 1,
            state: CommandState::Pending,
            settled_s: None,
            alarmed: false,
        };
        if let Some(mut old) = self.latest.insert(system_id, new) {
            if old.state == CommandState::Pending {
                old.state = CommandState::Superseded;
                old.settled_s = Some(now_s);
                tracing::warn!("{}", old.describe(now_s));
            }
            self.push_history(old);
        }
    }

    fn push_history(&mut self, c: SentCommand) {
        self.history.push(c);
        if self.history.len() > HISTORY {
            self.history.remove(0);
        }
    }

    /// A UTKIK_AUTHZ_STATUS from `system_id`: settles the pending command it echoes.
    pub fn apply_status(&mut self, system_id: u8, status: &UTKIK_AUTHZ_STATUS_DATA, now_s: f64) {
        let Some(c) = self.latest.get_mut(&system_id) else {
            return;
        };
        if c.state != CommandState::Pending || status.last_request_id != c.message.request_id {
            return;
        }
        c.state = CommandState::Confirmed(status.last_result);
        c.settled_s = Some(now_s);
        tracing::info!("{}", c.describe(now_s));
        self.events.push(CommandEvent::Settled(c.clone()));
    }

    /// Commands to resend at `now_s` (pending, last sent at least `resend_interval_s` ago), and
    /// STOP alarms that became due (raised once per command).
    pub fn due(&mut self, now_s: f64) -> Vec<(u8, MavMessage)> {
        let mut out = Vec::new();
        for c in self.latest.values_mut() {
            if c.state != CommandState::Pending {
                continue;
            }
            if c.message.command == UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP
                && !c.alarmed
                && now_s - c.first_sent_s >= self.stop_alarm_s
            {
                c.alarmed = true;
                tracing::error!("ALARM: {}", c.describe(now_s));
                self.events.push(CommandEvent::StopAlarm(c.clone()));
            }
            if now_s - c.last_sent_s >= self.resend_interval_s {
                c.last_sent_s = now_s;
                c.sends += 1;
                out.push((c.system_id, MavMessage::UTKIK_AUTHZ_COMMAND(c.message.clone())));
            }
        }
        out
    }

    /// Confirmations and alarms since the last call (console, panel, audit log).
    pub fn take_events(&mut self) -> Vec<CommandEvent> {
        std::mem::take(&mut self.events)
    }

    /// Commands not yet confirmed.
    pub fn pending(&self) -> impl Iterator<Item = &SentCommand> {
        self.latest.values().filter(|c| c.state == CommandState::Pending)
    }

    /// The newest command to `system_id`.
    pub fn latest(&self, system_id: u8) -> Option<&SentCommand> {
        self.latest.get(&system_id)
    }

    /// Every command known, oldest first (history, then the newest per vehicle).
    pub fn all(&self) -> impl DoubleEndedIterator<Item = &SentCommand> {
        self.history.iter().chain(self.latest.values())
    }

    /// Pending STOPs in alarm.
    pub fn alarms(&self) -> impl Iterator<Item = &SentCommand> {
        self.pending().filter(|c| c.alarmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(request_id: u16, command: UtkikAuthzCommand) -> UTKIK_AUTHZ_COMMAND_DATA {
        UTKIK_AUTHZ_COMMAND_DATA {
            target_system: 1,
            request_id,
            command,
            ..Default::default()
        }
    }

    fn status(last_request_id: u16, last_result: MavResult) -> UTKIK_AUTHZ_STATUS_DATA {
        UTKIK_AUTHZ_STATUS_DATA {
            last_request_id,
            last_result,
            ..Default::default()
        }
    }

    #[test]
    fn a_command_is_resent_until_its_request_id_is_confirmed() {
        let mut c = Commands::default();
        c.sent(1, &cmd(7, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE), 100.0);
        assert!(c.due(100.5).is_empty());
        assert_eq!(c.due(101.0).len(), 1);
        assert!(c.due(101.5).is_empty());
        assert_eq!(c.due(102.0).len(), 1);
        assert_eq!(c.pending().count(), 1);
        assert!(c.latest(1).unwrap().describe(102.0).contains("PENDING"));
        // A status about an older request settles nothing.
        c.apply_status(1, &status(6, MavResult::MAV_RESULT_ACCEPTED), 102.2);
        assert_eq!(c.pending().count(), 1);
        c.apply_status(1, &status(7, MavResult::MAV_RESULT_ACCEPTED), 102.5);
        assert_eq!(c.pending().count(), 0);
        assert!(c.due(110.0).is_empty(), "confirmed: no more resends");
        assert_eq!(c.latest(1).unwrap().sends, 3);
        assert!(matches!(&c.take_events()[..], [CommandEvent::Settled(s)] if s.message.request_id == 7));
        assert!(
            c.latest(1)
                .unwrap()
                .describe(103.0)
                .contains("confirmed by the drone after 2.5 s")
        );
    }

    #[test]
    fn an_unconfirmed_stop_alarms_once_after_the_configured_time() {
        let mut c = Commands {
            stop_alarm_s: 3.0,
            ..Default::default()
        };
        c.sent(1, &cmd(9, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP), 0.0);
        let mut t = 0.0;
        while t < 2.9 {
            t += 0.1;
            c.due(t);
        }
        assert!(c.take_events().is_empty(), "no alarm before 3 s");
        assert_eq!(c.alarms().count(), 0);
        c.due(3.0);
        let events = c.take_events();
        assert!(
            matches!(&events[..], [CommandEvent::StopAlarm(s)] if s.message.request_id == 9),
            "{events:?}"
        );
        assert_eq!(c.alarms().count(), 1);
        c.due(10.0);
        assert!(c.take_events().is_empty(), "raised once");
        // Confirmed later: the alarm ends, the record says how long it took.
        c.apply_status(1, &status(9, MavResult::MAV_RESULT_ACCEPTED), 12.0);
        assert_eq!(c.alarms().count(), 0);
        // A confirmed STOP never alarms; other commands never alarm.
        let mut d = Commands::default();
        d.sent(1, &cmd(1, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP), 0.0);
        d.apply_status(1, &status(1, MavResult::MAV_RESULT_ACCEPTED), 0.5);
        d.sent(2, &cmd(2, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE), 0.0);
        d.due(60.0);
        let events = d.take_events();
        assert!(
            !events.iter().any(|e| matches!(e, CommandEvent::StopAlarm(_))),
            "no alarm: {events:?}"
        );
        assert!(
            matches!(&events[..], [CommandEvent::Settled(s)] if s.message.request_id == 1),
            "only the STOP's confirmation: {events:?}"
        );
    }

    #[test]
    fn a_newer_command_supersedes_an_older_pending_one_which_is_never_resent() {
        let mut c = Commands::default();
        c.sent(1, &cmd(1, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE), 0.0);
        c.sent(1, &cmd(2, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP), 0.2);
        let resent = c.due(5.0);
        assert_eq!(resent.len(), 1);
        assert!(matches!(&resent[0].1, MavMessage::UTKIK_AUTHZ_COMMAND(m) if m.request_id == 2));
        let old = c.all().find(|s| s.message.request_id == 1).unwrap();
        assert_eq!(old.state, CommandState::Superseded);
        // A refusal is a settlement too, shown as REFUSED.
        c.apply_status(1, &status(2, MavResult::MAV_RESULT_DENIED), 5.5);
        assert!(c.latest(1).unwrap().describe(6.0).contains("REFUSED"));
    }
}
