//! Scenario files (`assets/scenarios/*.toml`): the world the simulator builds.
//!
//! Everything is placed in a local east/north frame in metres around the
//! scenario's `origin` (a WGS84 point), which keeps the files readable and
//! lets the same scenario be moved elsewhere by editing one table. Altitudes
//! of the route are metres above the origin (AGL on flat ground).
//!
//! Errors name the file, the line and the field: syntax and type errors come
//! from the TOML parser's span, semantic checks (plate grammar, too few path
//! points, a vehicle on an unknown road) from [`toml::Spanned`] positions kept
//! on every entity table.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use utkik_shared::events::{LegalBasis, SourceKind};
use utkik_shared::geo::GeoPoint;

/// A scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// Scenario file.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// TOML syntax error or a field of the wrong type / unknown field.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// Scenario file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Parser message (names the field).
        message: String,
    },
    /// A well-formed value that makes no sense (bad plate, path too short...).
    #[error("{path}:{line}: field `{field}`: {message}")]
    Invalid {
        /// Scenario file.
        path: PathBuf,
        /// 1-based line of the table holding the field.
        line: usize,
        /// Dotted field name, e.g. `vehicles[2].plate`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// A point in the scenario's local frame, metres east and north of the origin.
pub type EnPoint = [f64; 2];

/// Scenario origin (WGS84, altitude of the ground there).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// Latitude, degrees.
    pub lat_deg: f64,
    /// Longitude, degrees.
    pub lon_deg: f64,
    /// Ground altitude at the origin, metres above mean sea level.
    pub alt_m_amsl: f64,
}

impl Origin {
    /// As a [`GeoPoint`].
    pub fn geo(&self) -> GeoPoint {
        GeoPoint {
            lat_deg: self.lat_deg,
            lon_deg: self.lon_deg,
            alt_m_amsl: self.alt_m_amsl,
        }
    }
}

/// Camera of the drone.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CameraSpec {
    /// Image width, pixels.
    #[serde(default = "default_width")]
    pub width_px: u32,
    /// Image height, pixels.
    #[serde(default = "default_height")]
    pub height_px: u32,
    /// Horizontal field of view, degrees.
    #[serde(default = "default_hfov")]
    pub hfov_deg: f64,
    /// Frame rate, frames per second.
    #[serde(default = "default_fps")]
    pub fps: f64,
}

fn default_width() -> u32 {
    1280
}
fn default_height() -> u32 {
    720
}
fn default_hfov() -> f64 {
    70.0
}
fn default_fps() -> f64 {
    30.0
}

impl Default for CameraSpec {
    fn default() -> Self {
        Self {
            width_px: default_width(),
            height_px: default_height(),
            hfov_deg: default_hfov(),
            fps: default_fps(),
        }
    }
}

/// Multirotor limits and environment. Defaults are a mid-size quadcopter.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VehicleSpec {
    /// Horizontal speed limit, m/s.
    pub max_speed_m_s: f64,
    /// Climb/descent rate limit, m/s.
    pub max_climb_m_s: f64,
    /// Yaw rate limit, degrees/s.
    pub max_yaw_rate_deg_s: f64,
    /// Horizontal acceleration limit, m/s^2.
    pub max_accel_m_s2: f64,
    /// Mean wind from the west-east/south-north components, m/s (east, north).
    pub wind_m_s: EnPoint,
    /// Gust strength (standard deviation), m/s.
    pub gust_m_s: f64,
    /// Battery capacity, watt-hours.
    pub battery_wh: f64,
    /// Power at hover, watts.
    pub hover_power_w: f64,
}

impl Default for VehicleSpec {
    fn default() -> Self {
        Self {
            max_speed_m_s: 12.0,
            max_climb_m_s: 3.0,
            max_yaw_rate_deg_s: 60.0,
            max_accel_m_s2: 3.0,
            wind_m_s: [2.0, 1.0],
            gust_m_s: 1.0,
            battery_wh: 90.0,
            hover_power_w: 350.0,
        }
    }
}

/// A route waypoint.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Waypoint {
    /// Metres east of the origin.
    pub east_m: f64,
    /// Metres north of the origin.
    pub north_m: f64,
    /// Metres above the origin.
    pub alt_m_agl: f64,
}

/// What the drone flies.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Route {
    /// Fly the waypoints in order, then loop (or hold at the last one).
    Waypoints {
        /// Points to fly through.
        points: Vec<Waypoint>,
        /// Cruise speed, m/s.
        speed_m_s: f64,
        /// Start again at the first waypoint after the last.
        #[serde(default = "yes", rename = "loop")]
        looped: bool,
    },
    /// Circle a point.
    Orbit {
        /// Centre, metres east/north of the origin.
        centre: EnPoint,
        /// Radius, metres.
        radius_m: f64,
        /// Altitude above the origin, metres.
        alt_m_agl: f64,
        /// Speed along the circle, m/s (positive = clockwise seen from above).
        speed_m_s: f64,
    },
    /// Hold a position and heading.
    Hover {
        /// Position and altitude.
        at: Waypoint,
        /// Heading, degrees clockwise from north.
        yaw_deg: f64,
    },
}

fn yes() -> bool {
    true
}

/// How the gimbal is pointed at start (commands over MAVLink can change it).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum GimbalSpec {
    /// Fixed angles relative to the vehicle heading.
    Fixed {
        /// Pitch, degrees (negative = down).
        pitch_deg: f64,
        /// Yaw relative to the vehicle nose, degrees.
        #[serde(default)]
        yaw_deg: f64,
    },
    /// Keep a ground point in the image centre.
    PointOfInterest {
        /// Metres east/north of the origin.
        at: EnPoint,
    },
    /// Keep a walking person in the image centre, as an operator (or a
    /// gimbal tracker) keeps the person of interest in frame: the gimbal aims
    /// at the pedestrian's upper body wherever the scenario walks them.
    FollowEntity {
        /// Face `identity` of the pedestrian to follow (exactly one pedestrian has it).
        entity: String,
    },
}

/// Role of a person in the scenario.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PersonRole {
    /// An uninvolved passer-by: must never be identified.
    Bystander,
    /// The person the operation's authorization names.
    Designated,
}

/// Which real face a person wears.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaceSpec {
    /// Identity label used in the ground truth.
    pub identity: String,
    /// Bystander or designated person.
    pub role: PersonRole,
    /// File in the imagery cache (`~/.cache/utkik/imagery/faces/`).
    pub image: String,
    /// Crop box of the face in that photo: x, y, width, height (pixels).
    pub crop: [u32; 4],
}

/// A walking person.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PedestrianSpec {
    /// Points walked in order (then back again).
    pub path: Vec<EnPoint>,
    /// Walking speed, m/s.
    #[serde(default = "walk_speed")]
    pub speed_m_s: f64,
    /// Height, metres.
    #[serde(default = "person_height")]
    pub height_m: f64,
    /// Shirt colour (RGB).
    #[serde(default = "shirt")]
    pub shirt_rgb: [u8; 3],
    /// Face.
    pub face: FaceSpec,
}

fn walk_speed() -> f64 {
    1.3
}
fn person_height() -> f64 {
    1.75
}
fn shirt() -> [u8; 3] {
    [40, 60, 140]
}

/// A road (centreline polyline).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoadSpec {
    /// Name (vehicles refer to it).
    pub name: String,
    /// Carriageway width, metres.
    pub width_m: f64,
    /// Number of lanes.
    #[serde(default = "two")]
    pub lanes: u32,
    /// Centreline points.
    pub points: Vec<EnPoint>,
}

fn two() -> u32 {
    2
}

/// A building (footprint polygon + height).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BuildingSpec {
    /// Footprint corners (not closed).
    pub footprint: Vec<EnPoint>,
    /// Height, metres.
    pub height_m: f64,
}

/// A car driving a road.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VehicleActorSpec {
    /// Plate text, Swedish layout (`ABC 123` or `ABC 12A`).
    pub plate: String,
    /// Road it drives (by name).
    pub road: String,
    /// Speed, m/s.
    pub speed_m_s: f64,
    /// Start position along the road, metres from its first point.
    #[serde(default)]
    pub start_m: f64,
    /// Drive the road backwards (the other lane).
    #[serde(default)]
    pub reverse: bool,
    /// Body colour (RGB).
    #[serde(default = "car_colour")]
    pub colour_rgb: [u8; 3],
    /// On the operation's hit list.
    #[serde(default)]
    pub hit_list: bool,
}

fn car_colour() -> [u8; 3] {
    [180, 180, 185]
}

/// The authorization the demo uses for a designated-person search.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationSpec {
    /// Reference of the decision (e.g. a prosecutor's case number).
    pub reference: String,
    /// Identity (face `identity`) it covers.
    pub designated_identity: String,
    /// Purpose text.
    pub purpose: String,
}

/// One camera of a multi-source scenario (issue 19): the scenario's world (roads, cars,
/// people) seen by several drones and fixed cameras at once, each run as its own simulator
/// instance (`utkik-sim run --source NAME`, as multi-vehicle SITL runs one instance per
/// vehicle), with its own system id, ports and truth.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Name used on the command line (`--source`), ASCII letters, digits, `-`.
    pub name: String,
    /// Drone, fixed camera, or a camera in a car (`vehicle`: a waypoint route at the camera's
    /// height above the road, a fixed gimbal; its pose goes out as NMEA, not MAVLink).
    pub kind: SourceKind,
    /// MAVLink system id (1..=250, unique in the scenario).
    pub system_id: u8,
    /// Whose camera: own, or another operator's (a road authority's traffic camera).
    #[serde(default = "own")]
    pub legal_basis: LegalBasis,
    /// What it flies; a fixed camera: `kind = "hover"`, its mast top and heading.
    pub route: Route,
    /// Its gimbal; a fixed camera: `mode = "fixed"` (it does not pan).
    pub gimbal: GimbalSpec,
    /// Its camera when it differs from the scenario's `[camera]`.
    #[serde(default)]
    pub camera: Option<CameraSpec>,
}

fn own() -> LegalBasis {
    LegalBasis::Own
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    description: String,
    seed: u64,
    #[serde(default = "duration")]
    duration_s: f64,
    origin: Origin,
    #[serde(default)]
    camera: CameraSpec,
    #[serde(default)]
    vehicle: VehicleSpec,
    route: Spanned<Route>,
    gimbal: Spanned<GimbalSpec>,
    #[serde(default)]
    roads: Vec<Spanned<RoadSpec>>,
    #[serde(default)]
    buildings: Vec<Spanned<BuildingSpec>>,
    #[serde(default)]
    pedestrians: Vec<Spanned<PedestrianSpec>>,
    #[serde(default)]
    vehicles: Vec<Spanned<VehicleActorSpec>>,
    #[serde(default)]
    authorization: Option<Spanned<AuthorizationSpec>>,
    #[serde(default)]
    sources: Vec<Spanned<SourceSpec>>,
}

fn duration() -> f64 {
    120.0
}

/// Highest camera height of a car source above the road, metres: a roof-mounted camera, not a
/// mast (a higher camera is a fixed site or a drone).
pub const CAR_MAX_CAMERA_HEIGHT_M: f64 = 4.0;

/// Yaw rate limit of a car source, degrees/s: high enough that the car's nose follows its path
/// through the route's corners as a car's does, rather than a multirotor's slow turn.
pub const CAR_YAW_RATE_DEG_S: f64 = 720.0;

/// Highest route speed of a car source, m/s (180 km/h).
pub const CAR_MAX_SPEED_M_S: f64 = 50.0;

/// Checks a `kind = "vehicle"` source: a car driving a waypoint route at one camera height above
/// the road (the route's `alt_m_agl`, where its GNSS antenna and camera sit), with a camera fixed
/// to the car looking level or down (the onboard's `camera.fixed_pitch_deg` is in -90..=0).
/// The error is the field (relative to the source) and what is wrong.
fn validate_car(sp: &SourceSpec) -> Result<(), (String, String)> {
    let Route::Waypoints { points, speed_m_s, .. } = &sp.route else {
        return Err((
            "route.kind".into(),
            "a car needs route kind = \"waypoints\" (the road it drives)".into(),
        ));
    };
    if points.len() < 2 {
        return Err((
            "route.points".into(),
            format!("a car needs at least two waypoints, got {}", points.len()),
        ));
    }
    if !(*speed_m_s > 0.0 && *speed_m_s <= CAR_MAX_SPEED_M_S) {
        return Err((
            "route.speed_m_s".into(),
            format!("{speed_m_s} is not in (0, {CAR_MAX_SPEED_M_S}] m/s"),
        ));
    }
    let height_m = points[0].alt_m_agl;
    for (k, p) in points.iter().enumerate() {
        if !(p.alt_m_agl > 0.0 && p.alt_m_agl <= CAR_MAX_CAMERA_HEIGHT_M) {
            return Err((
                format!("route.points[{k}].alt_m_agl"),
                format!(
                    "{}: a car's camera height above the road must be in (0, {CAR_MAX_CAMERA_HEIGHT_M}] m",
                    p.alt_m_agl
                ),
            ));
        }
        if p.alt_m_agl != height_m {
            return Err((
                format!("route.points[{k}].alt_m_agl"),
                format!(
                    "{} differs from the first point's {height_m}: the camera sits at one height on the car",
                    p.alt_m_agl
                ),
            ));
        }
    }
    let GimbalSpec::Fixed { pitch_deg, yaw_deg } = &sp.gimbal else {
        return Err((
            "gimbal.mode".into(),
            "a car's camera is fixed to the car: gimbal mode = \"fixed\"".into(),
        ));
    };
    if !(-90.0..=0.0).contains(pitch_deg) {
        return Err((
            "gimbal.pitch_deg".into(),
            format!("{pitch_deg}: a car's camera looks level or down, -90..=0 degrees"),
        ));
    }
    if !(-180.0..=180.0).contains(yaw_deg) {
        return Err((
            "gimbal.yaw_deg".into(),
            format!("{yaw_deg}: the camera's direction from the car's nose, -180..=180 degrees"),
        ));
    }
    Ok(())
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// What it exercises.
    pub description: String,
    /// Seed of every random process (wind gusts, sensor noise).
    pub seed: u64,
    /// Default run length, seconds.
    pub duration_s: f64,
    /// Origin of the local frame.
    pub origin: Origin,
    /// Camera.
    pub camera: CameraSpec,
    /// Multirotor limits and environment.
    pub vehicle: VehicleSpec,
    /// Route.
    pub route: Route,
    /// Gimbal at start.
    pub gimbal: GimbalSpec,
    /// Roads.
    pub roads: Vec<RoadSpec>,
    /// Buildings.
    pub buildings: Vec<BuildingSpec>,
    /// Pedestrians.
    pub pedestrians: Vec<PedestrianSpec>,
    /// Cars.
    pub vehicles: Vec<VehicleActorSpec>,
    /// Authorization for designated-person scenarios.
    pub authorization: Option<AuthorizationSpec>,
    /// The cameras of a multi-source scenario (empty: one drone, `route` and `gimbal` above).
    pub sources: Vec<SourceSpec>,
}

/// Directory of the checked-in scenarios (`<repo>/assets/scenarios`).
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/scenarios")
}

/// True when `plate` is a Swedish plate: three letters, a space, two digits
/// and a digit or letter (`ABC 123`, `ABC 12A`). I, Q, V and Å/Ä/Ö are never
/// used on Swedish plates.
pub fn is_swedish_plate(plate: &str) -> bool {
    let b = plate.as_bytes();
    let letter = |c: u8| c.is_ascii_uppercase() && !matches!(c, b'I' | b'Q' | b'V');
    b.len() == 7
        && b[..3].iter().all(|&c| letter(c))
        && b[3] == b' '
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && (b[6].is_ascii_digit() || (letter(b[6]) && b[6] != b'O'))
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (line, column)
}

impl Scenario {
    /// Read and validate a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse and validate scenario text; `path` is used in errors only.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            ScenarioError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        let invalid = |span: std::ops::Range<usize>, field: String, message: String| {
            let (line, _) = line_col(text, span.start);
            ScenarioError::Invalid {
                path: path.to_owned(),
                line,
                field,
                message,
            }
        };
        let top = 0..0;
        if !(-90.0..=90.0).contains(&raw.origin.lat_deg) || !(-180.0..=180.0).contains(&raw.origin.lon_deg) {
            let at = text.find("[origin]").unwrap_or(0);
            return Err(invalid(
                at..at,
                "origin".into(),
                "latitude/longitude out of range".into(),
            ));
        }
        let cam = raw.camera;
        if cam.width_px < 16 || cam.height_px < 16 || !(1.0..=170.0).contains(&cam.hfov_deg) || cam.fps <= 0.0 {
            let at = text.find("[camera]").unwrap_or(0);
            return Err(invalid(
                at..at,
                "camera".into(),
                "needs width_px/height_px >= 16, hfov_deg in 1..170 and fps > 0".into(),
            ));
        }
        match raw.route.get_ref() {
            Route::Waypoints { points, speed_m_s, .. } => {
                if points.is_empty() {
                    return Err(invalid(
                        raw.route.span(),
                        "route.points".into(),
                        "needs at least one waypoint".into(),
                    ));
                }
                if *speed_m_s <= 0.0 {
                    return Err(invalid(
                        raw.route.span(),
                        "route.speed_m_s".into(),
                        "must be > 0".into(),
                    ));
                }
            }
            Route::Orbit { radius_m, .. } if *radius_m <= 0.0 => {
                return Err(invalid(raw.route.span(), "route.radius_m".into(), "must be > 0".into()));
            }
            _ => {}
        }
        for (i, r) in raw.roads.iter().enumerate() {
            if r.get_ref().points.len() < 2 {
                return Err(invalid(
                    r.span(),
                    format!("roads[{i}].points"),
                    "a road needs at least two points".into(),
                ));
            }
            if r.get_ref().width_m <= 0.0 {
                return Err(invalid(r.span(), format!("roads[{i}].width_m"), "must be > 0".into()));
            }
            if raw.roads[..i].iter().any(|o| o.get_ref().name == r.get_ref().name) {
                return Err(invalid(
                    r.span(),
                    format!("roads[{i}].name"),
                    format!("duplicate road name {:?}", r.get_ref().name),
                ));
            }
        }
        for (i, b) in raw.buildings.iter().enumerate() {
            if b.get_ref().footprint.len() < 3 {
                return Err(invalid(
                    b.span(),
                    format!("buildings[{i}].footprint"),
                    "needs at least three corners".into(),
                ));
            }
            if b.get_ref().height_m <= 0.0 {
                return Err(invalid(
                    b.span(),
                    format!("buildings[{i}].height_m"),
                    "must be > 0".into(),
                ));
            }
        }
        for (i, p) in raw.pedestrians.iter().enumerate() {
            let ped = p.get_ref();
            if ped.path.is_empty() {
                return Err(invalid(
                    p.span(),
                    format!("pedestrians[{i}].path"),
                    "needs at least one point".into(),
                ));
            }
            if ped.speed_m_s < 0.0 {
                return Err(invalid(
                    p.span(),
                    format!("pedestrians[{i}].speed_m_s"),
                    "must be >= 0".into(),
                ));
            }
            if ped.face.image.contains('/') || ped.face.image.contains("..") {
                return Err(invalid(
                    p.span(),
                    format!("pedestrians[{i}].face.image"),
                    "a file name in the imagery cache, not a path".into(),
                ));
            }
            if ped.face.crop[2] == 0 || ped.face.crop[3] == 0 {
                return Err(invalid(
                    p.span(),
                    format!("pedestrians[{i}].face.crop"),
                    "empty crop box".into(),
                ));
            }
        }
        for (i, v) in raw.vehicles.iter().enumerate() {
            let car = v.get_ref();
            if !is_swedish_plate(&car.plate) {
                return Err(invalid(
                    v.span(),
                    format!("vehicles[{i}].plate"),
                    format!("{:?} is not a Swedish plate (`ABC 123` or `ABC 12A`)", car.plate),
                ));
            }
            if !raw.roads.iter().any(|r| r.get_ref().name == car.road) {
                return Err(invalid(
                    v.span(),
                    format!("vehicles[{i}].road"),
                    format!("no road named {:?}", car.road),
                ));
            }
            if car.speed_m_s < 0.0 {
                return Err(invalid(
                    v.span(),
                    format!("vehicles[{i}].speed_m_s"),
                    "must be >= 0".into(),
                ));
            }
        }
        if let Some(a) = &raw.authorization {
            let id = &a.get_ref().designated_identity;
            let designated = raw
                .pedestrians
                .iter()
                .any(|p| &p.get_ref().face.identity == id && p.get_ref().face.role == PersonRole::Designated);
            if !designated {
                return Err(invalid(
                    a.span(),
                    "authorization.designated_identity".into(),
                    format!("no pedestrian with role = \"designated\" has identity {id:?}"),
                ));
            }
        }
        if let GimbalSpec::FollowEntity { entity } = raw.gimbal.get_ref() {
            let n = raw
                .pedestrians
                .iter()
                .filter(|p| &p.get_ref().face.identity == entity)
                .count();
            if n != 1 {
                return Err(invalid(
                    raw.gimbal.span(),
                    "gimbal.entity".into(),
                    format!("{n} pedestrians have face identity {entity:?}; follow_entity needs exactly one"),
                ));
            }
        }
        for (i, src) in raw.sources.iter().enumerate() {
            let sp = src.get_ref();
            let bad = |field: &str, message: String| invalid(src.span(), format!("sources[{i}].{field}"), message);
            if sp.name.is_empty() || !sp.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(bad(
                    "name",
                    format!("{:?}: ASCII letters, digits and `-` only", sp.name),
                ));
            }
            if !(1..=250).contains(&sp.system_id) {
                return Err(bad("system_id", format!("{} is not in 1..=250", sp.system_id)));
            }
            if let Some(o) = raw.sources[..i]
                .iter()
                .map(Spanned::get_ref)
                .find(|o| o.name == sp.name || o.system_id == sp.system_id)
            {
                return Err(bad(
                    "name",
                    format!(
                        "{:?} (system id {}) repeats source {:?} (system id {})",
                        sp.name, sp.system_id, o.name, o.system_id
                    ),
                ));
            }
            match sp.kind {
                SourceKind::Drone => {}
                SourceKind::Fixed => {
                    if !matches!(sp.route, Route::Hover { .. }) || !matches!(sp.gimbal, GimbalSpec::Fixed { .. }) {
                        return Err(bad(
                            "route",
                            "a fixed camera needs route kind = \"hover\" (its mast) and gimbal mode = \"fixed\"".into(),
                        ));
                    }
                }
                SourceKind::Vehicle => validate_car(sp).map_err(|(field, message)| bad(&field, message))?,
            }
            if let GimbalSpec::FollowEntity { entity } = &sp.gimbal
                && raw
                    .pedestrians
                    .iter()
                    .filter(|p| &p.get_ref().face.identity == entity)
                    .count()
                    != 1
            {
                return Err(bad(
                    "gimbal.entity",
                    format!("follow_entity needs exactly one pedestrian {entity:?}"),
                ));
            }
        }
        let _ = top;
        Ok(Scenario {
            name: raw.name,
            description: raw.description,
            seed: raw.seed,
            duration_s: raw.duration_s,
            origin: raw.origin,
            camera: raw.camera,
            vehicle: raw.vehicle,
            route: raw.route.into_inner(),
            gimbal: raw.gimbal.into_inner(),
            roads: raw.roads.into_iter().map(Spanned::into_inner).collect(),
            buildings: raw.buildings.into_iter().map(Spanned::into_inner).collect(),
            pedestrians: raw.pedestrians.into_iter().map(Spanned::into_inner).collect(),
            vehicles: raw.vehicles.into_iter().map(Spanned::into_inner).collect(),
            authorization: raw.authorization.map(Spanned::into_inner),
            sources: raw.sources.into_iter().map(Spanned::into_inner).collect(),
        })
    }

    /// The scenario as source `name` sees it: its route, gimbal and camera in place of the
    /// scenario's; a fixed camera and a car also feel no wind (a mast does not drift, a car
    /// keeps to the road), and a car drives at its route speed with its nose along its path. The world (roads,
    /// cars, people, seed) is the same for every source, so their truths agree.
    ///
    /// # Errors
    /// No source of that name (the message lists the scenario's sources).
    pub fn for_source(&self, name: &str) -> Result<(Scenario, SourceSpec), String> {
        let Some(src) = self.sources.iter().find(|s| s.name == name) else {
            let names: Vec<&str> = self.sources.iter().map(|s| s.name.as_str()).collect();
            return Err(if names.is_empty() {
                format!("scenario {} has no [[sources]]; run it without --source", self.name)
            } else {
                format!(
                    "scenario {} has no source {name:?}; its sources: {}",
                    self.name,
                    names.join(", ")
                )
            });
        };
        let mut s = self.clone();
        s.route = src.route.clone();
        s.gimbal = src.gimbal.clone();
        if let Some(c) = src.camera {
            s.camera = c;
        }
        if matches!(src.kind, SourceKind::Fixed | SourceKind::Vehicle) {
            s.vehicle.wind_m_s = [0.0, 0.0];
            s.vehicle.gust_m_s = 0.0;
        }
        if src.kind == SourceKind::Vehicle
            && let Route::Waypoints { speed_m_s, .. } = &src.route
        {
            // A car drives at its route speed (the multirotor's limit would cap it) and points
            // where it goes at once: its heading is its direction of travel.
            s.vehicle.max_speed_m_s = s.vehicle.max_speed_m_s.max(*speed_m_s);
            s.vehicle.max_yaw_rate_deg_s = CAR_YAW_RATE_DEG_S;
        }
        Ok((s, src.clone()))
    }

    /// Index of the pedestrian whose face identity is `identity`.
    pub fn pedestrian_index(&self, identity: &str) -> Option<usize> {
        self.pedestrians.iter().position(|p| p.face.identity == identity)
    }

    /// The road named `name`.
    pub fn road(&self, name: &str) -> Option<&RoadSpec> {
        self.roads.iter().find(|r| r.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(scenarios_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn checked_in_scenarios_load() {
        let files = all();
        assert!(files.len() >= 3, "{files:?}");
        for f in files {
            let s = Scenario::load(&f).unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.roads.is_empty(), "{}", s.name);
        }
    }

    #[test]
    fn swedish_plates() {
        for ok in ["ABC 123", "XYZ 12A", "MLB 99Z"] {
            assert!(is_swedish_plate(ok), "{ok}");
        }
        for bad in [
            "ABC123", "abc 123", "ABI 123", "AB 1234", "ABC 1A3", "ABC 12O", "ÅBC 123",
        ] {
            assert!(!is_swedish_plate(bad), "{bad}");
        }
    }

    fn text() -> String {
        std::fs::read_to_string(scenarios_dir().join("anpr-road.toml")).unwrap()
    }

    #[test]
    fn syntax_error_names_file_line_and_field() {
        let t = text().replacen("seed = ", "seed = \"x\" #", 1);
        let line = t.lines().position(|l| l.starts_with("seed")).unwrap() + 1;
        let err = Scenario::parse(&t, Path::new("x.toml")).unwrap_err();
        match &err {
            ScenarioError::Parse { line: l, path, .. } => {
                assert_eq!(*l, line);
                assert_eq!(path, Path::new("x.toml"));
            }
            other => panic!("{other}"),
        }
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("x.toml:{line}:")), "{msg}");
    }

    #[test]
    fn unknown_field_is_named() {
        let t = text().replacen("seed = ", "sede = 1\nseed = ", 1);
        let msg = Scenario::parse(&t, Path::new("x.toml")).unwrap_err().to_string();
        assert!(msg.contains("sede"), "{msg}");
    }

    #[test]
    fn bad_plate_names_line_and_field() {
        let t = text();
        let first_plate = t.find("plate = \"").unwrap();
        let line_of_table = t[..first_plate]
            .rfind("[[vehicles]]")
            .map(|i| t[..i].matches('\n').count() + 1)
            .unwrap();
        let bad = format!("{}plate = \"AB 1234\"{}", &t[..first_plate], &t[first_plate + 17..]);
        let err = Scenario::parse(&bad, Path::new("y.toml")).unwrap_err();
        match err {
            ScenarioError::Invalid { line, field, path, .. } => {
                assert_eq!(field, "vehicles[0].plate");
                assert_eq!(path, Path::new("y.toml"));
                // Spanned tables start at the first key after the header.
                assert!(
                    line == line_of_table || line == line_of_table + 1,
                    "{line} vs {line_of_table}"
                );
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn follow_entity_must_name_one_pedestrian() {
        let t = std::fs::read_to_string(scenarios_dir().join("person-search.toml")).unwrap();
        let s = Scenario::parse(&t, Path::new("p.toml")).unwrap();
        assert!(matches!(s.gimbal, GimbalSpec::FollowEntity { .. }), "{:?}", s.gimbal);
        let at = t.find("[gimbal]").unwrap();
        let line = t[..at].matches('\n').count() + 1;
        let bad = t.replacen("entity = \"designated-astronaut\"", "entity = \"nobody\"", 1);
        let err = Scenario::parse(&bad, Path::new("p.toml")).unwrap_err();
        match &err {
            ScenarioError::Invalid {
                line: l, field, path, ..
            } => {
                assert_eq!(field, "gimbal.entity");
                assert_eq!(path, Path::new("p.toml"));
                // The [gimbal] table: its header or its first key.
                assert!(*l == line || *l == line + 1, "{l} vs {line}");
            }
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("nobody"), "{err}");
    }

    #[test]
    fn vehicle_on_unknown_road_is_refused() {
        let t = text().replacen("road = \"", "road = \"nowhere", 1);
        let msg = Scenario::parse(&t, Path::new("z.toml")).unwrap_err().to_string();
        assert!(msg.contains("vehicles[0].road") && msg.contains("nowhere"), "{msg}");
    }

    fn centre() -> String {
        std::fs::read_to_string(scenarios_dir().join("centre-road.toml")).unwrap()
    }

    /// The centre scenario with car-1's `route` and `gimbal` lines replaced.
    fn with_car(route: &str, gimbal: &str) -> Result<Scenario, ScenarioError> {
        let t = centre();
        let start = t.find("name = \"car-1\"").unwrap();
        let route_at = start + t[start..].find("route = ").unwrap();
        let camera_at = start + t[start..].find("camera = ").unwrap();
        let text = format!(
            "{}route = {route}\ngimbal = {gimbal}\n{}",
            &t[..route_at],
            &t[camera_at..]
        );
        Scenario::parse(&text, Path::new("c.toml"))
    }

    const ROUTE: &str = "{ kind = \"waypoints\", speed_m_s = 8.0, points = [{ east_m = 0.0, north_m = -2.0, alt_m_agl = 1.5 }, { east_m = 50.0, north_m = -2.0, alt_m_agl = 1.5 }] }";
    const GIMBAL: &str = "{ mode = \"fixed\", pitch_deg = -5.0 }";

    #[test]
    fn a_car_source_drives_its_route_at_road_level_without_wind() {
        let s = Scenario::load(&scenarios_dir().join("centre-road.toml")).unwrap();
        let (car, src) = s.for_source("car-1").unwrap();
        assert_eq!(
            (src.kind, src.system_id, src.legal_basis),
            (SourceKind::Vehicle, 21, LegalBasis::Own)
        );
        assert_eq!((car.vehicle.wind_m_s, car.vehicle.gust_m_s), ([0.0, 0.0], 0.0));
        assert_eq!(
            car.gimbal,
            GimbalSpec::Fixed {
                pitch_deg: -3.0,
                yaw_deg: 0.0
            }
        );
        let Route::Waypoints { points, .. } = &car.route else {
            panic!("{:?}", car.route)
        };
        assert!(points.iter().all(|p| p.alt_m_agl == 1.6));
        // The world is the scenario's: the same cars on the same road.
        assert_eq!(
            (car.vehicles.clone(), car.roads.clone(), car.seed),
            (s.vehicles.clone(), s.roads.clone(), s.seed)
        );
        // A car faster than the multirotor's limit keeps its route speed.
        let fast = with_car(&ROUTE.replace("speed_m_s = 8.0", "speed_m_s = 25.0"), GIMBAL).unwrap();
        let (fast, _) = fast.for_source("car-1").unwrap();
        assert_eq!(fast.vehicle.max_speed_m_s, 25.0);
        assert!(with_car(ROUTE, GIMBAL).is_ok());
    }

    #[test]
    fn a_bad_car_source_names_the_field() {
        let cases = [
            (
                "{ kind = \"hover\", at = { east_m = 0.0, north_m = 0.0, alt_m_agl = 1.6 }, yaw_deg = 90.0 }".to_owned(),
                GIMBAL.to_owned(),
                "sources[5].route.kind",
                "waypoints",
            ),
            (
                "{ kind = \"waypoints\", speed_m_s = 8.0, points = [{ east_m = 0.0, north_m = -2.0, alt_m_agl = 1.5 }] }".to_owned(),
                GIMBAL.to_owned(),
                "sources[5].route.points",
                "two waypoints",
            ),
            (ROUTE.replace("speed_m_s = 8.0", "speed_m_s = 0.0"), GIMBAL.to_owned(), "sources[5].route.speed_m_s", "0"),
            (ROUTE.replace("speed_m_s = 8.0", "speed_m_s = 80.0"), GIMBAL.to_owned(), "sources[5].route.speed_m_s", "80"),
            (ROUTE.replacen("alt_m_agl = 1.5", "alt_m_agl = 12.0", 1), GIMBAL.to_owned(), "sources[5].route.points[0].alt_m_agl", "12"),
            (ROUTE.replacen("alt_m_agl = 1.5", "alt_m_agl = 0.0", 1), GIMBAL.to_owned(), "sources[5].route.points[0].alt_m_agl", "(0, 4]"),
            (
                ROUTE.replace("east_m = 50.0, north_m = -2.0, alt_m_agl = 1.5", "east_m = 50.0, north_m = -2.0, alt_m_agl = 2.0"),
                GIMBAL.to_owned(),
                "sources[5].route.points[1].alt_m_agl",
                "one height",
            ),
            (ROUTE.to_owned(), "{ mode = \"point_of_interest\", at = [0.0, 0.0] }".to_owned(), "sources[5].gimbal.mode", "fixed"),
            (ROUTE.to_owned(), GIMBAL.replace("-5.0", "10.0"), "sources[5].gimbal.pitch_deg", "10"),
            (ROUTE.to_owned(), "{ mode = \"fixed\", pitch_deg = -5.0, yaw_deg = 200.0 }".to_owned(), "sources[5].gimbal.yaw_deg", "200"),
        ];
        for (route, gimbal, field, value) in cases {
            let err = with_car(&route, &gimbal).unwrap_err();
            match &err {
                ScenarioError::Invalid { field: f, path, .. } => {
                    assert_eq!(f, field, "{err}");
                    assert_eq!(path, Path::new("c.toml"));
                }
                other => panic!("{field}: {other}"),
            }
            assert!(err.to_string().contains(value), "{field}: {err}");
        }
    }
}
