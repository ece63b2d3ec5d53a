//! Scene strings of parametric QR codes: what a scan means to the platform. WeChat hands the
//! scene back in the subscribe/SCAN callback, so encoder and parser live side by side.

use super::CourseId;

/// Prefix of a course sign-up scene.
const COURSE_PREFIX: &str = "course_";

/// What a QR code's scene (QR_STR_SCENE / QR_LIMIT_STR_SCENE) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// Sign the scanner up for this course (and answer with its details).
    Course(CourseId),
}

impl Scene {
    /// The scene string given to WeChat (at most 64 characters).
    pub fn encode(&self) -> String {
        match self {
            Self::Course(id) => format!("{COURSE_PREFIX}{id}"),
        }
    }

    /// Reads a scene string back; `None` for scenes the platform did not create.
    pub fn parse(scene: &str) -> Option<Self> {
        let id = scene.strip_prefix(COURSE_PREFIX)?;
        id.parse().ok().map(Self::Course)
    }

    /// Reads the `EventKey` of a subscribe (`qrscene_<scene>`) or SCAN (`<scene>`) event.
    pub fn from_event_key(event_key: &str) -> Option<Self> {
        Self::parse(event_key.strip_prefix("qrscene_").unwrap_or(event_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_scene_round_trips_and_fits_wechat() {
        let id = CourseId::generate();
        let scene = Scene::Course(id).encode();
        assert!(scene.len() <= 64);
        assert_eq!(Scene::parse(&scene), Some(Scene::Course(id)));
        assert_eq!(
            Scene::from_event_key(&format!("qrscene_{scene}")),
            Some(Scene::Course(id))
        );
        assert_eq!(Scene::from_event_key(&scene), Some(Scene::Course(id)));
    }

    #[test]
    fn foreign_scenes_are_ignored() {
        for key in [
            "",
            "qrscene_",
            "qrscene_123",
            "course_",
            "course_not-a-ulid",
            "x",
        ] {
            assert_eq!(Scene::from_event_key(key), None, "{key}");
        }
    }
}
