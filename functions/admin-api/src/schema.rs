//! OpenAPI schemas of core-crate types that the API exposes as they serialise (string enums,
//! tagged audiences), so the document states their exact values.

use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Object, RefOr, Schema};

fn string_enum(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

/// `AccountKind`.
pub fn account_kind() -> Object {
    string_enum(
        &["service", "subscription", "mini_program", "wecom"],
        "服务号 service, 订阅号 subscription, 小程序 mini_program, 企业微信 wecom",
    )
}

/// `CallbackMode`.
pub fn callback_mode() -> Object {
    string_enum(
        &["plaintext", "compatible", "safe"],
        "消息加解密方式：明文 / 兼容 / 安全模式",
    )
}

/// `CourseStatus`.
pub fn course_status() -> Object {
    string_enum(
        &["draft", "published", "cancelled"],
        "草稿 / 已发布 / 已取消",
    )
}

/// `CoursePhase`.
pub fn course_phase() -> Object {
    string_enum(&["upcoming", "live", "ended"], "未开始 / 直播中 / 已结束")
}

/// `PushStatus`.
pub fn push_status() -> Object {
    string_enum(
        &[
            "pending",
            "running",
            "paused",
            "completed",
            "failed",
            "cancelled",
        ],
        "推送状态",
    )
}

/// `Channel`.
pub fn channel() -> Object {
    string_enum(
        &[
            "template",
            "subscribe",
            "mini_program_subscribe",
            "customer_service",
            "wecom",
        ],
        "发送渠道",
    )
}

/// Optional `Channel`.
pub fn optional_channel() -> Object {
    let mut schema = channel();
    schema.schema_type = utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]);
    schema
}

/// `DeliveryStatus`.
pub fn delivery_status() -> Object {
    string_enum(
        &[
            "sending",
            "sent",
            "delivered",
            "user_blocked",
            "system_failed",
            "skipped",
            "failed",
        ],
        "通知状态",
    )
}

/// `SyncTrigger`.
pub fn sync_trigger() -> Object {
    string_enum(&["schedule", "manual"], "定时 / 手动")
}

/// `SyncRunStatus`.
pub fn sync_run_status() -> Object {
    string_enum(&["running", "completed", "paused", "failed"], "同步状态")
}

/// `AuditOutcome`.
pub fn audit_outcome() -> Object {
    string_enum(&["succeeded", "refused", "failed"], "成功 / 被拒绝 / 失败")
}

/// A stored push's `Audience` (tagged by `type`).
pub fn audience() -> RefOr<Schema> {
    ObjectBuilder::new()
        .property(
            "type",
            string_enum(
                &["all_followers", "signed_up", "tag", "openid_list"],
                "全部关注用户 / 报名用户 / 标签 / 上传的 openid 列表",
            ),
        )
        .required("type")
        .property(
            "tag_id",
            ObjectBuilder::new().schema_type(Type::Integer).build(),
        )
        .property(
            "s3_key",
            ObjectBuilder::new().schema_type(Type::String).build(),
        )
        .property(
            "count",
            ObjectBuilder::new().schema_type(Type::Integer).build(),
        )
        .build()
        .into()
}

/// `ExportFormat`.
pub fn export_format() -> Object {
    string_enum(&["csv", "xlsx"], "CSV（UTF-8 BOM）或 Excel")
}

/// `ExportJobStatus`.
pub fn export_status() -> Object {
    string_enum(
        &["pending", "running", "succeeded", "failed"],
        "排队中 / 生成中 / 已完成 / 失败",
    )
}

/// `ExportKind`.
pub fn export_kind() -> Object {
    string_enum(
        &["courses", "followers", "deliveries", "signups"],
        "直播课程 / 关注用户 / 通知记录",
    )
}

/// `WorkQueue` (a queue with a dead-letter queue).
pub fn work_queue() -> Object {
    string_enum(
        &["push", "qr", "sync", "export"],
        "推送 / 二维码 / 关注用户同步 / 导出",
    )
}
