//! Camera rendering: what the drone camera sees of a [`Scene`], drawn with the
//! `shared` camera model by a software rasterizer (painter's order, far to
//! near), with per-frame ground truth of every visible face, plate, person and
//! vehicle taken from the pixels actually drawn.

mod assets;
mod faces;
mod raster;
mod scene;
mod texture;

pub use assets::{AssetError, Assets, PLATE_FONT_PATH, PLATE_TEXELS, render_plate};
pub use faces::{FACE_CROPS, FACE_TEXELS, FaceSet, default_face_dir};
pub use raster::{Canvas, NEAR_M, Shade};
pub use scene::{
    Building, DEFAULT_GROUND_COLOUR, FaceRef, GroundPolygon, Person, Rgb, Road, Scene, Surface, Vehicle,
    default_sun_dir_enu,
};
pub use texture::{MipLevel, Texture};

use glam::{DMat3, DVec2, DVec3};
use serde::{Deserialize, Serialize};
use utkik_shared::camera::{Camera, Intrinsics};

/// Plate size, metres (EU / Swedish standard 520 x 110 mm).
pub const PLATE_SIZE_M: (f64, f64) = (0.52, 0.11);
/// Height of the plate's lower edge above the ground, metres.
pub const PLATE_BOTTOM_M: f64 = 0.42;
/// Head (and face billboard) size of a person, metres (width x height).
pub const HEAD_SIZE_M: (f64, f64) = (0.19, 0.232);

/// Rendering options (resolution comes from the camera intrinsics).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RenderOptions {
    /// Uniform sensor noise amplitude, 0..=255 levels either side (0 = none).
    pub noise_amplitude: u8,
    /// Motion blur as the image motion during the exposure, pixels (x, y).
    pub motion_blur_px: Option<[f32; 2]>,
    /// Seed of the noise (same seed, scene and camera -> identical bytes).
    pub seed: u64,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            noise_amplitude: 4,
            motion_blur_px: None,
            seed: 0,
        }
    }
}

/// Class of a ground-truth box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TruthClass {
    /// A face (front of a head).
    Face,
    /// A number plate.
    Plate,
    /// A whole person.
    Person,
    /// A whole vehicle.
    Vehicle,
}

impl TruthClass {
    /// Every class, in report order.
    pub const ALL: [TruthClass; 4] = [
        TruthClass::Face,
        TruthClass::Plate,
        TruthClass::Person,
        TruthClass::Vehicle,
    ];

    /// The lower-case name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TruthClass::Face => "face",
            TruthClass::Plate => "plate",
            TruthClass::Person => "person",
            TruthClass::Vehicle => "vehicle",
        }
    }
}

impl std::str::FromStr for TruthClass {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s.trim())
            .ok_or_else(|| format!("unknown class {s:?} (face, plate, person or vehicle)"))
    }
}

/// One visible entity in a rendered frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthBox {
    /// What it is.
    pub class: TruthClass,
    /// The person's or vehicle's id ([`Person::id`], [`Vehicle::id`]).
    pub entity_id: u32,
    /// Faces and persons: the face identity; plates and vehicles: the plate
    /// text without spaces, upper case.
    pub label: String,
    /// Tight box of the drawn pixels: left, top, right, bottom (right/bottom
    /// exclusive), pixels.
    pub box_px: [u32; 4],
    /// Number of pixels of the entity that are visible.
    pub pixels: u32,
    /// Latitude of the entity's ground point, degrees.
    pub lat_deg: f64,
    /// Longitude of the entity's ground point, degrees.
    pub lon_deg: f64,
}

/// A rendered image and its ground truth.
#[derive(Debug, Clone)]
pub struct RenderedFrame {
    /// RGB8 pixels, row-major, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Every visible face, plate, person and vehicle.
    pub truth: Vec<TruthBox>,
}

/// Parts of an entity in the id buffer: `((entity + 1) << 2) | part`.
const PART_BODY: u32 = 0;
const PART_FACE: u32 = 1;
const PART_PLATE_REAR: u32 = 2;
const PART_PLATE_FRONT: u32 = 3;

/// The camera placed in the scene's ENU frame.
struct View {
    intr: Intrinsics,
    ned_to_cam: DMat3,
    cam_ned: DVec3,
    cam_enu: DVec3,
}

impl View {
    fn to_cam(&self, enu: DVec3) -> DVec3 {
        self.ned_to_cam * (DVec3::new(enu.y, enu.x, -enu.z) - self.cam_ned)
    }
}

/// Render what `camera` sees of `scene` at the camera's resolution.
pub fn render(scene: &Scene, camera: &Camera, options: &RenderOptions) -> RenderedFrame {
    let intr = camera.intrinsics;
    let (w, h) = (intr.width_px, intr.height_px);
    let frame = scene.frame();
    let cam_ned = frame.to_ned(&camera.pose.camera_position());
    let view = View {
        intr,
        ned_to_cam: camera.rotation_cam_to_ned().transpose(),
        cam_ned,
        cam_enu: DVec3::new(cam_ned.y, cam_ned.x, -cam_ned.z),
    };
    let mut canvas = Canvas::new(w, h);
    let above_ground = view.cam_enu.z > 0.0 && view.cam_enu.is_finite();
    background(&mut canvas, scene, camera, above_ground);

    if above_ground {
        let mut ground: Vec<(i32, usize, &GroundPolygon)> =
            scene.ground.iter().enumerate().map(|(i, g)| (g.layer, i, g)).collect();
        let road_polys: Vec<GroundPolygon> = scene.roads.iter().flat_map(Road::polygons).collect();
        let n = ground.len();
        ground.extend(road_polys.iter().enumerate().map(|(i, g)| (g.layer, n + i, g)));
        ground.sort_by_key(|&(layer, i, _)| (layer, i));
        for (_, _, g) in ground {
            let pts: Vec<DVec3> = g.outline_enu_m.iter().map(|p| view.to_cam(p.extend(0.0))).collect();
            let c = g.colour.unwrap_or_else(|| g.surface.colour());
            canvas.fill_polygon(&intr, &pts, &Shade::Flat(c), 0);
        }
    }

    // 3D objects, far to near.
    enum Obj {
        Building(usize),
        Vehicle(usize),
        Person(usize),
    }
    let mut objs: Vec<(f64, usize, Obj)> = Vec::new();
    let dist = |p: DVec3| (p - view.cam_enu).length();
    for (i, b) in scene.buildings.iter().enumerate() {
        let c = b.footprint_enu_m.iter().copied().sum::<DVec2>() / b.footprint_enu_m.len().max(1) as f64;
        objs.push((dist(c.extend(b.height_m / 2.0)), objs.len(), Obj::Building(i)));
    }
    for (i, v) in scene.vehicles.iter().enumerate() {
        objs.push((
            dist(v.position_enu_m.extend(v.height_m / 2.0)),
            objs.len(),
            Obj::Vehicle(i),
        ));
    }
    for (i, p) in scene.people.iter().enumerate() {
        objs.push((
            dist(p.position_enu_m.extend(p.height_m / 2.0)),
            objs.len(),
            Obj::Person(i),
        ));
    }
    objs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let nveh = scene.vehicles.len() as u32;
    for (_, _, o) in &objs {
        match o {
            Obj::Building(i) => draw_building(&mut canvas, &view, scene, &scene.buildings[*i]),
            Obj::Vehicle(i) => draw_vehicle(&mut canvas, &view, scene, &scene.vehicles[*i], *i as u32 + 1),
            Obj::Person(i) => draw_person(&mut canvas, &view, scene, &scene.people[*i], nveh + *i as u32 + 1),
        }
    }

    let truth = truth_boxes(&canvas, scene);
    if let Some(m) = options.motion_blur_px {
        motion_blur(&mut canvas, m);
    }
    if options.noise_amplitude > 0 {
        add_noise(&mut canvas.rgb, options.noise_amplitude, options.seed);
    }
    RenderedFrame {
        rgb: canvas.rgb,
        width: w,
        height: h,
        truth,
    }
}

/// Ground below the horizon, sky above (row by row: the ray's down component
/// is linear along a row).
fn background(canvas: &mut Canvas, scene: &Scene, camera: &Camera, above_ground: bool) {
    let intr = camera.intrinsics;
    let r = camera.rotation_cam_to_ned();
    let (r20, r21, r22) = (r.x_axis.z, r.y_axis.z, r.z_axis.z);
    let (w, h) = (canvas.width, canvas.height);
    for y in 0..h {
        if !above_ground {
            canvas.span_flat(y, 0, w, [38, 30, 24], 0);
            continue;
        }
        let a = r20 / intr.fx_px;
        let b = r21 * (f64::from(y) + 0.5 - intr.cy_px) / intr.fy_px + r22 - r20 * intr.cx_px / intr.fx_px;
        // down(x) = a * (x + 0.5) + b > 0 means ground.
        let eps = 1e-9;
        let split = if a.abs() < 1e-15 {
            if b > eps { 0.0 } else { f64::from(w) }
        } else {
            ((eps - b) / a - 0.5).clamp(-1.0, f64::from(w) + 1.0)
        };
        let s = split.ceil().clamp(0.0, f64::from(w)) as u32;
        let (g, sky) = (scene.ground_colour, scene.sky_colour);
        if a.abs() < 1e-15 {
            canvas.span_flat(y, 0, w, if b > eps { g } else { sky }, 0);
        } else if a > 0.0 {
            canvas.span_flat(y, 0, s, sky, 0);
            canvas.span_flat(y, s, w, g, 0);
        } else {
            canvas.span_flat(y, 0, s, g, 0);
            canvas.span_flat(y, s, w, sky, 0);
        }
    }
}

/// `c` lit by the sun on a surface with `normal_enu` (ambient 0.55 plus diffuse).
pub fn shade(c: Rgb, normal_enu: DVec3, sun: DVec3) -> Rgb {
    let k = 0.55 + 0.45 * normal_enu.dot(sun).max(0.0);
    c.map(|v| (f64::from(v) * k).round().min(255.0) as u8)
}

fn visible(view: &View, point_enu: DVec3, normal_enu: DVec3) -> bool {
    (view.cam_enu - point_enu).dot(normal_enu) > 0.0
}

/// An oriented box: centre of its bottom face, forward and right unit vectors
/// (horizontal), length along forward, width along right, z range.
#[allow(clippy::too_many_arguments)]
fn draw_box(
    canvas: &mut Canvas,
    view: &View,
    scene: &Scene,
    bottom_centre: DVec2,
    fwd: DVec2,
    length: f64,
    width: f64,
    z: (f64, f64),
    side: Rgb,
    top: Rgb,
    id: u32,
) {
    let right = DVec2::new(fwd.y, -fwd.x);
    let (hl, hw) = (fwd * length / 2.0, right * width / 2.0);
    let c = [
        bottom_centre + hl - hw,
        bottom_centre + hl + hw,
        bottom_centre - hl + hw,
        bottom_centre - hl - hw,
    ];
    let faces = [(0usize, 1usize, fwd), (1, 2, right), (2, 3, -fwd), (3, 0, -right)];
    for (a, b, n) in faces {
        let n3 = n.extend(0.0);
        let mid = ((c[a] + c[b]) / 2.0).extend((z.0 + z.1) / 2.0);
        if visible(view, mid, n3) {
            let pts = [c[a].extend(z.0), c[b].extend(z.0), c[b].extend(z.1), c[a].extend(z.1)].map(|p| view.to_cam(p));
            canvas.fill_polygon(&view.intr, &pts, &Shade::Flat(shade(side, n3, scene.sun_dir_enu)), id);
        }
    }
    if visible(view, bottom_centre.extend(z.1), DVec3::Z) {
        let pts = c.map(|p| view.to_cam(p.extend(z.1)));
        canvas.fill_polygon(
            &view.intr,
            &pts,
            &Shade::Flat(shade(top, DVec3::Z, scene.sun_dir_enu)),
            id,
        );
    }
}

fn draw_building(canvas: &mut Canvas, view: &View, scene: &Scene, b: &Building) {
    let fp = &b.footprint_enu_m;
    if fp.len() < 3 {
        return;
    }
    let mut walls: Vec<(f64, usize)> = Vec::new();
    for i in 0..fp.len() {
        let (a, c) = (fp[i], fp[(i + 1) % fp.len()]);
        let d = c - a;
        let n = DVec2::new(d.y, -d.x).normalize_or_zero().extend(0.0);
        let mid = ((a + c) / 2.0).extend(b.height_m / 2.0);
        if visible(view, mid, n) {
            walls.push(((mid - view.cam_enu).length(), i));
        }
    }
    walls.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    for (_, i) in walls {
        let (a, c) = (fp[i], fp[(i + 1) % fp.len()]);
        let d = c - a;
        let n = DVec2::new(d.y, -d.x).normalize_or_zero().extend(0.0);
        let pts = [a.extend(0.0), c.extend(0.0), c.extend(b.height_m), a.extend(b.height_m)].map(|p| view.to_cam(p));
        canvas.fill_polygon(
            &view.intr,
            &pts,
            &Shade::Flat(shade(b.wall_colour, n, scene.sun_dir_enu)),
            0,
        );
    }
    if view.cam_enu.z > b.height_m {
        let pts: Vec<DVec3> = fp.iter().map(|p| view.to_cam(p.extend(b.height_m))).collect();
        canvas.fill_polygon(
            &view.intr,
            &pts,
            &Shade::Flat(shade(b.roof_colour, DVec3::Z, scene.sun_dir_enu)),
            0,
        );
    }
}

/// Unit forward vector (ENU) of a compass heading.
fn heading_fwd(heading_rad: f64) -> DVec2 {
    DVec2::new(heading_rad.sin(), heading_rad.cos())
}

/// A textured vertical quad: `centre` (ENU), horizontal `across` unit vector
/// pointing to the texture's left-to-right direction as seen by a viewer in
/// front, outward `normal`, size in metres.
#[allow(clippy::too_many_arguments)]
fn draw_billboard(
    canvas: &mut Canvas,
    view: &View,
    tex: &Texture,
    centre: DVec3,
    across: DVec3,
    normal: DVec3,
    size_m: (f64, f64),
    gain: f32,
    id: u32,
    inner: Option<([f64; 4], u32)>,
) {
    if !visible(view, centre, normal) {
        return;
    }
    let top_left = centre - across * size_m.0 / 2.0 + DVec3::Z * size_m.1 / 2.0;
    let origin = view.to_cam(top_left);
    let axis_u = view.ned_to_cam * enu_vec_to_ned(across * size_m.0);
    let axis_v = view.ned_to_cam * enu_vec_to_ned(-DVec3::Z * size_m.1);
    let corners = [origin, origin + axis_u, origin + axis_u + axis_v, origin + axis_v];
    // Screen width of the texture, for the mip level.
    let screen_w = match (
        view.intr.ray_cam_to_pixel(corners[0]),
        view.intr.ray_cam_to_pixel(corners[1]),
    ) {
        (Some(a), Some(b)) if origin.z > NEAR_M => ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt(),
        _ => f64::from(tex.width()),
    };
    let level = tex.level_for(screen_w);
    canvas.fill_polygon(
        &view.intr,
        &corners,
        &Shade::Textured {
            level,
            origin,
            axis_u,
            axis_v,
            gain,
            inner,
        },
        id,
    );
}

fn enu_vec_to_ned(v: DVec3) -> DVec3 {
    DVec3::new(v.y, v.x, -v.z)
}

fn draw_vehicle(canvas: &mut Canvas, view: &View, scene: &Scene, v: &Vehicle, ent: u32) {
    let fwd = heading_fwd(v.heading_rad);
    let right = DVec2::new(fwd.y, -fwd.x);
    let body_top = v.height_m * 0.55;
    let dark = v.colour.map(|c| c / 2);
    draw_box(
        canvas,
        view,
        scene,
        v.position_enu_m,
        fwd,
        v.length_m,
        v.width_m,
        (0.15, body_top),
        v.colour,
        v.colour,
        ent << 2 | PART_BODY,
    );
    // Cabin: glass sides, painted roof, set back a little.
    draw_box(
        canvas,
        view,
        scene,
        v.position_enu_m - fwd * v.length_m * 0.08,
        fwd,
        v.length_m * 0.5,
        v.width_m * 0.88,
        (body_top, v.height_m),
        [40, 48, 56],
        dark.map(|c| c.saturating_add(c / 2)),
        ent << 2 | PART_BODY,
    );
    let tex = scene.assets.plate_texture(&v.plate);
    let zc = PLATE_BOTTOM_M + PLATE_SIZE_M.1 / 2.0;
    let off = v.length_m / 2.0 + 0.01;
    let rear = (v.position_enu_m - fwd * off).extend(zc);
    draw_billboard(
        canvas,
        view,
        &tex,
        rear,
        right.extend(0.0),
        -fwd.extend(0.0),
        PLATE_SIZE_M,
        1.0,
        ent << 2 | PART_PLATE_REAR,
        None,
    );
    let front = (v.position_enu_m + fwd * off).extend(zc);
    draw_billboard(
        canvas,
        view,
        &tex,
        front,
        -right.extend(0.0),
        fwd.extend(0.0),
        PLATE_SIZE_M,
        1.0,
        ent << 2 | PART_PLATE_FRONT,
        None,
    );
}

fn draw_person(canvas: &mut Canvas, view: &View, scene: &Scene, p: &Person, ent: u32) {
    let fwd = heading_fwd(p.heading_rad);
    let right = DVec2::new(fwd.y, -fwd.x);
    let hgt = p.height_m;
    let (head_w, head_h) = HEAD_SIZE_M;
    let head_bottom = hgt - head_h;
    let id = ent << 2 | PART_BODY;
    let legs_top = hgt * 0.47;
    for side in [-1.0, 1.0] {
        draw_box(
            canvas,
            view,
            scene,
            p.position_enu_m + right * 0.1 * side,
            fwd,
            0.2,
            0.15,
            (0.0, legs_top),
            p.trousers_colour,
            p.trousers_colour,
            id,
        );
    }
    draw_box(
        canvas,
        view,
        scene,
        p.position_enu_m,
        fwd,
        0.26,
        0.46,
        (legs_top, head_bottom - 0.04),
        p.shirt_colour,
        p.shirt_colour,
        id,
    );
    // Neck, then the head: hair on top and back, skin on the sides.
    let skin = [196, 150, 120];
    draw_box(
        canvas,
        view,
        scene,
        p.position_enu_m,
        fwd,
        0.1,
        0.1,
        (head_bottom - 0.04, head_bottom),
        skin,
        skin,
        id,
    );
    draw_box(
        canvas,
        view,
        scene,
        p.position_enu_m,
        fwd,
        0.21,
        head_w,
        (head_bottom, hgt),
        p.hair_colour,
        p.hair_colour,
        id,
    );
    let centre = (p.position_enu_m + fwd * (0.21 / 2.0 + 0.005)).extend(head_bottom + head_h / 2.0);
    let normal = fwd.extend(0.0);
    // Seen from the front, the face's left-to-right is the person's right-to-left.
    let across = -right.extend(0.0);
    match scene.assets.faces.get(p.face.index) {
        // The hair around the face belongs to the person, the face region to the face.
        Some((tex, face_uv)) => draw_billboard(
            canvas,
            view,
            tex,
            centre,
            across,
            normal,
            HEAD_SIZE_M,
            p.face.gain,
            ent << 2 | PART_BODY,
            Some((face_uv, ent << 2 | PART_FACE)),
        ),
        None => {
            if visible(view, centre, normal) {
                let a = across * head_w / 2.0;
                let u = DVec3::Z * head_h / 2.0;
                let pts = [centre - a + u, centre + a + u, centre + a - u, centre - a - u].map(|q| view.to_cam(q));
                canvas.fill_polygon(&view.intr, &pts, &Shade::Flat(skin), ent << 2 | PART_FACE);
            }
        }
    }
}

/// Tight boxes of the drawn pixels of every entity part.
fn truth_boxes(canvas: &Canvas, scene: &Scene) -> Vec<TruthBox> {
    let n_ent = scene.vehicles.len() + scene.people.len();
    let slots = (n_ent + 1) * 4;
    // min x, min y, max x, max y, count
    let mut acc = vec![[u32::MAX, u32::MAX, 0, 0, 0]; slots];
    let w = canvas.width as usize;
    for (y, row) in canvas.ids.chunks_exact(w).enumerate() {
        let mut x = 0;
        while x < row.len() {
            let id = row[x];
            let start = x;
            while x < row.len() && row[x] == id {
                x += 1;
            }
            if id == 0 || id as usize >= slots {
                continue;
            }
            let a = &mut acc[id as usize];
            a[0] = a[0].min(start as u32);
            a[1] = a[1].min(y as u32);
            a[2] = a[2].max(x as u32);
            a[3] = a[3].max(y as u32 + 1);
            a[4] += (x - start) as u32;
        }
    }
    let merge = |parts: &[u32], ent: usize| -> Option<([u32; 4], u32)> {
        let mut out: Option<([u32; 4], u32)> = None;
        for &part in parts {
            let a = acc[(ent + 1) << 2 | part as usize];
            if a[4] == 0 {
                continue;
            }
            out = Some(match out {
                None => ([a[0], a[1], a[2], a[3]], a[4]),
                Some((b, n)) => (
                    [b[0].min(a[0]), b[1].min(a[1]), b[2].max(a[2]), b[3].max(a[3])],
                    n + a[4],
                ),
            });
        }
        out
    };
    let mut out = Vec::new();
    let push = |out: &mut Vec<TruthBox>,
                class,
                entity_id,
                label: &str,
                geo: utkik_shared::geo::GeoPoint,
                b: Option<([u32; 4], u32)>| {
        if let Some((box_px, pixels)) = b {
            out.push(TruthBox {
                class,
                entity_id,
                label: label.to_owned(),
                box_px,
                pixels,
                lat_deg: geo.lat_deg,
                lon_deg: geo.lon_deg,
            });
        }
    };
    for (i, v) in scene.vehicles.iter().enumerate() {
        let plate = normalize_plate(&v.plate);
        let fwd = heading_fwd(v.heading_rad);
        push(
            &mut out,
            TruthClass::Vehicle,
            v.id,
            &plate,
            scene.geo_of(v.position_enu_m),
            merge(&[PART_BODY, PART_PLATE_REAR, PART_PLATE_FRONT], i),
        );
        for (part, sign) in [(PART_PLATE_REAR, -1.0), (PART_PLATE_FRONT, 1.0)] {
            let geo = scene.geo_of(v.position_enu_m + fwd * sign * v.length_m / 2.0);
            push(&mut out, TruthClass::Plate, v.id, &plate, geo, merge(&[part], i));
        }
    }
    let nveh = scene.vehicles.len();
    for (i, p) in scene.people.iter().enumerate() {
        let geo = scene.geo_of(p.position_enu_m);
        push(
            &mut out,
            TruthClass::Person,
            p.id,
            &p.face.identity,
            geo,
            merge(&[PART_BODY, PART_FACE], nveh + i),
        );
        push(
            &mut out,
            TruthClass::Face,
            p.id,
            &p.face.identity,
            geo,
            merge(&[PART_FACE], nveh + i),
        );
    }
    out
}

/// Plate text as the onboard reports it: upper case, no spaces or dashes.
pub fn normalize_plate(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Average of samples along the motion vector.
fn motion_blur(canvas: &mut Canvas, m: [f32; 2]) {
    let len = (m[0] * m[0] + m[1] * m[1]).sqrt();
    let n = len.ceil().max(1.0) as i32;
    if n <= 1 {
        return;
    }
    let (w, h) = (canvas.width as i32, canvas.height as i32);
    let offs: Vec<(i32, i32)> = (0..n)
        .map(|k| {
            let t = (k as f32 + 0.5) / n as f32 - 0.5;
            ((m[0] * t).round() as i32, (m[1] * t).round() as i32)
        })
        .collect();
    let src = canvas.rgb.clone();
    for y in 0..h {
        for x in 0..w {
            let mut s = [0u32; 3];
            for &(dx, dy) in &offs {
                let (xx, yy) = ((x + dx).clamp(0, w - 1), (y + dy).clamp(0, h - 1));
                let i = ((yy * w + xx) * 3) as usize;
                for k in 0..3 {
                    s[k] += u32::from(src[i + k]);
                }
            }
            let i = ((y * w + x) * 3) as usize;
            for k in 0..3 {
                canvas.rgb[i + k] = ((s[k] + n as u32 / 2) / n as u32) as u8;
            }
        }
    }
}

/// Uniform noise in `-amp..=amp` per channel from a seeded xorshift.
fn add_noise(rgb: &mut [u8], amp: u8, seed: u64) {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    if s == 0 {
        s = 1;
    }
    let span = 2 * i32::from(amp) + 1;
    for px in rgb.chunks_exact_mut(3) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let r = s >> 16;
        for (k, v) in px.iter_mut().enumerate() {
            let b = ((r >> (k * 16)) & 0xffff) as i32;
            let noise = ((b * span) >> 16) - i32::from(amp);
            *v = (i32::from(*v) + noise).clamp(0, 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests;
