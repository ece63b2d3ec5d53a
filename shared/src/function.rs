//! Identity of a running function, reported by health checks.

use serde::Serialize;

/// A function's name and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FunctionInfo {
    /// Crate name, e.g. `push-worker`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// Defines `pub const FUNCTION: FunctionInfo` for the crate it is used in.
#[macro_export]
macro_rules! function_info {
    () => {
        /// This function's name and version.
        pub const FUNCTION: $crate::function::FunctionInfo = $crate::function::FunctionInfo {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        };
    };
}

/// Every function of the platform, by crate name.
pub const FUNCTION_NAMES: [&str; 6] = [
    "wechat-callback",
    "admin-api",
    "qr-generator",
    "push-worker",
    "follower-sync",
    // A second binary of the admin-api crate: exports longer than an API request may last.
    "export-worker",
];

/// The functions of a deployment. A deployment builds all of them from one workspace, so
/// they share the workspace version.
pub fn deployment() -> Vec<FunctionInfo> {
    FUNCTION_NAMES
        .iter()
        .map(|name| FunctionInfo {
            name,
            version: env!("CARGO_PKG_VERSION"),
        })
        .collect()
}
