//! Domain types: what the platform talks about, independent of storage and transport.

mod account;
mod admin;
mod audit;
mod consent;
mod course;
mod delivery;
mod follower;
mod ids;
mod push;
mod scene;
mod signup;
mod sync_run;
mod time;
mod verification_file;

pub use account::{Account, AccountKind, AccountSecrets, CallbackMode, KeywordReply};
pub use admin::{AdminUser, Role, Scope};
pub use audit::{AuditEntry, AuditOutcome};
pub use consent::Consent;
pub use course::{Course, CoursePhase, CourseQrCodes, CourseStatus, QrImage, TemplateMapping};
pub use course::{QrFailure, landing_url, one_or_many};
pub use delivery::{Delivery, DeliveryStatus};
pub use follower::Follower;
pub use ids::{AccountId, AuditId, CourseId, IdError, PushId, SyncRunId};
pub use push::{Audience, Channel, Push, PushCounters, PushStatus};
pub use scene::Scene;
pub use signup::{SignUp, SignUpSource};
pub use sync_run::{SyncCounts, SyncRun, SyncRunStatus, SyncTrigger};
pub use time::{Timestamp, now, sort_key_time};
pub use verification_file::{
    VerificationFile, VerificationFileError, check_verification_content, check_verification_name,
};
mod export_job;
pub use export_job::{EXPORT_RETENTION_DAYS, ExportJob, ExportJobId, ExportJobStatus, ExportKind};
