//! Fault injection: points where a test can make the worker "die" (stop processing the
//! message at once, as a killed Lambda would), to prove that redelivery neither loses nor
//! duplicates a message. Production deps carry no hook.

use std::fmt::Debug;

/// Where in the life of a message the worker may die.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrashPoint {
    /// The delivery is claimed, WeChat not yet called.
    BeforeSend,
    /// WeChat accepted the message; the delivery record does not say so yet.
    AfterSend,
    /// The delivery record is written; the batch is not yet counted.
    AfterRecord,
    /// The batch is counted; the queue message is not yet acknowledged.
    BeforeAck,
}

/// Decides whether the worker dies at `point` while handling `openid` (empty for
/// [`CrashPoint::BeforeAck`], which concerns the whole batch named by `batch`).
pub trait CrashHook: Debug + Send + Sync {
    /// True: die here.
    fn crash(&self, point: CrashPoint, batch: &str, openid: &str) -> bool;
}
