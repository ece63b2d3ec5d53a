//! The route × role × scope matrix. Every operation of the served OpenAPI document is called
//! by a super admin, by an operator of account A and by a viewer of account A, once on A's
//! things (in scope) and once on B's things (out of scope), and its status is checked against
//! the table below. A route without an entry, or an entry without a route, fails the test.
//!
//! Besides the statuses, two properties hold for every call of a scoped admin (operator or
//! viewer): its answer never holds an identifier of B's things, and a call on B's things (or
//! any refused call) changes nothing in the table.

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use livenotify::domain::*;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{AdminClient, call, create_admin, login, login_as, operator, viewer};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use wechat_sandbox::{EncryptionMode, SandboxAccount};

/// Routes anyone may call.
const PUBLIC: [&str; 3] = ["/api/health", "/api/openapi.json", "/api/auth/login"];

/// What a call must answer.
#[derive(Debug, Clone, Copy)]
enum E {
    /// Exactly this status.
    S(u16),
    /// Authorised: any answer but 401, 403, 404 or a failure of ours (500, 503); the outcome
    /// depends on the data, e.g. WeChat's refusal (502) of a test message.
    Pass,
}

use E::{Pass, S};

/// One operation: its request (path and query, and body, with placeholders) and what each
/// role gets, `[in scope, out of scope]`.
struct Rule {
    method: &'static str,
    route: &'static str,
    request: &'static str,
    body: Option<&'static str>,
    root: [E; 2],
    operator: [E; 2],
    viewer: [E; 2],
}

const fn rule(
    method: &'static str,
    route: &'static str,
    root: [E; 2],
    operator: [E; 2],
    viewer: [E; 2],
) -> Rule {
    Rule {
        method,
        route,
        request: route,
        body: None,
        root,
        operator,
        viewer,
    }
}

impl Rule {
    const fn request(mut self, request: &'static str) -> Self {
        self.request = request;
        self
    }

    const fn body(mut self, body: &'static str) -> Self {
        self.body = Some(body);
        self
    }
}

/// In scope, read: everyone; out of scope: absent to scoped admins.
const READ_IN_PATH: ([E; 2], [E; 2], [E; 2]) =
    ([S(200), S(200)], [S(200), S(404)], [S(200), S(404)]);
/// A list: everyone reads it (filtered to the scope).
const LIST: ([E; 2], [E; 2], [E; 2]) = ([S(200), S(200)], [S(200), S(200)], [S(200), S(200)]);
/// Super admins only.
const SUPER_ONLY: [E; 2] = [S(403), S(403)];

const fn read_in_path(method: &'static str, route: &'static str) -> Rule {
    rule(
        method,
        route,
        READ_IN_PATH.0,
        READ_IN_PATH.1,
        READ_IN_PATH.2,
    )
}

const fn list(route: &'static str) -> Rule {
    rule("get", route, LIST.0, LIST.1, LIST.2)
}

const COURSE_BODY: &str = r#"{"title": "矩阵课程", "speaker": "张医生", "starts_at": "2030-01-01T08:00:00Z",
    "live_url": "https://live.example.com/m", "status": "published",
    "templates": {"{account_id}": {"template_id": "tpl-1", "fields": {"thing1": "{title}"}}}}"#;
const COURSE_UPDATE: &str = r#"{"version": 1, "title": "矩阵课程", "speaker": "张医生", "starts_at": "2030-01-01T08:00:00Z",
    "live_url": "https://live.example.com/m", "status": "published",
    "templates": {"{account_id}": {"template_id": "tpl-1", "fields": {"thing1": "{title}"}}}}"#;

/// The expectation table: one entry per operation of the OpenAPI document.
fn table() -> Vec<Rule> {
    vec![
        list("/api/auth/me"),
        // Every role may end its own sessions (the fixture, admins included, is put back
        // before each authorised call, so the tokens work again for the next).
        rule("post", "/api/auth/logout", [S(204), S(204)], [S(204), S(204)], [S(204), S(204)]),
        rule("get", "/api/admins", [S(200), S(200)], SUPER_ONLY, SUPER_ONLY),
        rule("post", "/api/admins", [S(400), S(400)], SUPER_ONLY, SUPER_ONLY).body("{}"),
        rule("get", "/api/admins/{username}", [S(200), S(200)], SUPER_ONLY, SUPER_ONLY),
        rule("patch", "/api/admins/{username}", [S(200), S(200)], SUPER_ONLY, SUPER_ONLY)
            .body(r#"{"display_name": "改名"}"#),
        rule("delete", "/api/admins/{username}", [S(204), S(204)], SUPER_ONLY, SUPER_ONLY),
        rule("get", "/api/audit", [S(200), S(200)], SUPER_ONLY, SUPER_ONLY),
        list("/api/accounts"),
        rule("post", "/api/accounts", [S(400), S(400)], SUPER_ONLY, SUPER_ONLY).body("{}"),
        read_in_path("get", "/api/accounts/{account_id}"),
        rule("patch", "/api/accounts/{account_id}", [S(200), S(200)], SUPER_ONLY, SUPER_ONLY)
            .body(r#"{"name": "改名"}"#),
        rule("delete", "/api/accounts/{account_id}", [S(204), S(204)], SUPER_ONLY, SUPER_ONLY),
        read_in_path("get", "/api/accounts/{account_id}/verification-file"),
        rule(
            "put",
            "/api/accounts/{account_id}/verification-file",
            [S(200), S(200)],
            SUPER_ONLY,
            SUPER_ONLY,
        )
        .body(r#"{"name": "MP_verify_{account_id}.txt", "content": "Code123"}"#),
        rule(
            "delete",
            "/api/accounts/{account_id}/verification-file",
            [S(204), S(204)],
            SUPER_ONLY,
            SUPER_ONLY,
        ),
        list("/api/courses"),
        rule(
            "post",
            "/api/courses",
            [S(201), S(201)],
            [S(201), S(403)],
            [S(403), S(403)],
        )
        .body(COURSE_BODY),
        read_in_path("get", "/api/courses/{course_id}"),
        rule(
            "put",
            "/api/courses/{course_id}",
            [S(200), S(200)],
            [S(200), S(404)],
            [S(403), S(403)],
        )
        .body(COURSE_UPDATE),
        rule(
            "delete",
            "/api/courses/{course_id}",
            [S(204), S(204)],
            [S(204), S(404)],
            [S(403), S(403)],
        ),
        read_in_path("get", "/api/courses/{course_id}/qr"),
        rule(
            "post",
            "/api/courses/{course_id}/qr",
            [S(202), S(202)],
            [S(202), S(404)],
            [S(403), S(403)],
        ),
        read_in_path("get", "/api/courses/{course_id}/pushes"),
        read_in_path("get", "/api/courses/{course_id}/signups"),
        read_in_path("get", "/api/courses/{course_id}/signups/counts"),
        read_in_path("get", "/api/courses/{course_id}/deliveries"),
        read_in_path("get", "/api/accounts/{account_id}/followers"),
        read_in_path("get", "/api/accounts/{account_id}/followers/{openid}"),
        read_in_path("get", "/api/accounts/{account_id}/followers/{openid}/deliveries"),
        // One person on both accounts: each admin sees the entries of its own accounts.
        list("/api/followers/by-unionid/{unionid}"),
        list("/api/pushes"),
        rule(
            "post",
            "/api/pushes",
            [S(201), S(201)],
            [S(201), S(403)],
            [S(403), S(403)],
        )
        .body(r#"{"course_id": "{course_id}", "account_ids": ["{account_id}"], "audience": {"type": "signed_up"}}"#),
        read_in_path("get", "/api/pushes/{push_id}"),
        // The fixture pushes have finished: cancelling is a conflict once authorised.
        rule(
            "post",
            "/api/pushes/{push_id}/cancel",
            [S(409), S(409)],
            [S(409), S(404)],
            [S(403), S(403)],
        ),
        read_in_path("get", "/api/pushes/{push_id}/deliveries"),
        rule(
            "delete",
            "/api/deliveries/{push_id}/{openid}",
            [S(204), S(204)],
            [S(204), S(404)],
            [S(403), S(403)],
        ),
        // Out-of-scope records count like absent ones (and stay: see the unchanged check).
        rule(
            "post",
            "/api/deliveries/delete",
            [S(200), S(200)],
            [S(200), S(200)],
            [S(403), S(403)],
        )
        .body(r#"{"records": [{"push_id": "{push_id}", "openid": "{openid}"}]}"#),
        rule(
            "post",
            "/api/accounts/{account_id}/sync-runs",
            [S(202), S(202)],
            [S(202), S(404)],
            [S(403), S(403)],
        ),
        read_in_path("get", "/api/accounts/{account_id}/sync-runs"),
        read_in_path("get", "/api/accounts/{account_id}/sync-runs/{run_id}"),
        list("/api/sync-runs"),
        // Exports are their owner's: "in scope" is the caller's own export.
        list("/api/exports"),
        rule(
            "post",
            "/api/exports",
            [S(202), S(202)],
            [S(202), S(403)],
            [S(202), S(403)],
        )
        .body(r#"{"kind": "followers", "format": "csv", "account_id": "{account_id}"}"#),
        read_in_path("get", "/api/exports/{export_id}"),
        rule(
            "post",
            "/api/pushes/preview",
            [Pass, Pass],
            [Pass, S(403)],
            [Pass, S(403)],
        )
        .body(r#"{"course_id": "{course_id}", "account_id": "{account_id}"}"#),
        rule(
            "post",
            "/api/pushes/test-send",
            [Pass, Pass],
            [Pass, S(403)],
            [S(403), S(403)],
        )
        .body(r#"{"course_id": "{course_id}", "account_id": "{account_id}", "openid": "{openid}"}"#),
        // Dead letters: super admins all, operators their accounts' jobs, viewers none.
        rule(
            "get",
            "/api/dead-letters",
            [S(200), S(200)],
            [S(200), S(200)],
            [S(403), S(403)],
        )
        .request("/api/dead-letters?queue=push"),
        rule(
            "post",
            "/api/dead-letters/{queue}/redrive",
            [S(200), S(200)],
            [S(200), S(200)],
            [S(403), S(403)],
        ),
    ]
}

/// Answers of scoped admins that carry no identifier of their things (so the "holds an
/// in-scope identifier" check does not apply).
const NO_MARKER: [&str; 8] = [
    "get /api/auth/me",
    "post /api/exports",
    "post /api/dead-letters/{queue}/redrive",
    "post /api/deliveries/delete",
    "post /api/accounts/{account_id}/sync-runs",
    "post /api/courses/{course_id}/qr",
    "get /api/courses/{course_id}/qr",
    "post /api/pushes/test-send",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    In,
    Out,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Root,
    Operator,
    Viewer,
}

/// One side's things.
struct Things {
    account: AccountId,
    course: CourseId,
    push: PushId,
    openid: String,
    run: SyncRunId,
    admin: String,
}

struct Fixture {
    a: Things,
    b: Things,
    unionid: String,
    /// Each caller's own export, and one of somebody else's.
    exports: BTreeMap<Who, ExportJobId>,
    foreign_export: ExportJobId,
    /// The table's fixture items as written, put back before every authorised mutation.
    snapshot: Vec<HashMap<String, AttributeValue>>,
    dead_letters: Vec<String>,
}

impl Fixture {
    fn things(&self, side: Side) -> &Things {
        match side {
            Side::In => &self.a,
            Side::Out => &self.b,
        }
    }

    fn fill(&self, template: &str, who: Who, side: Side) -> String {
        let t = self.things(side);
        let export = match side {
            Side::In => self.exports[&who],
            Side::Out => self.foreign_export,
        };
        template
            .replace("{account_id}", t.account.as_str())
            .replace("{course_id}", &t.course.to_string())
            .replace("{push_id}", &t.push.to_string())
            .replace("{openid}", &t.openid)
            .replace("{run_id}", &t.run.to_string())
            .replace("{username}", &t.admin)
            .replace("{unionid}", &self.unionid)
            .replace("{export_id}", &export.to_string())
            .replace("{queue}", "push")
    }

    /// Identifiers of B's things, none of which a scoped admin may ever be shown.
    fn out_of_scope_ids(&self) -> Vec<String> {
        let b = &self.b;
        vec![
            b.account.to_string(),
            b.course.to_string(),
            b.push.to_string(),
            b.openid.clone(),
            b.run.to_string(),
            self.foreign_export.to_string(),
        ]
    }

    /// Identifiers of A's things and of `who`'s own export.
    fn in_scope_ids(&self, who: Who) -> Vec<String> {
        let a = &self.a;
        vec![
            a.account.to_string(),
            a.course.to_string(),
            a.push.to_string(),
            a.openid.clone(),
            a.run.to_string(),
            self.exports[&who].to_string(),
        ]
    }
}

fn push(course: CourseId, account: &AccountId) -> Push {
    let at = now();
    Push {
        id: PushId::generate(),
        course_id: course,
        account_id: account.clone(),
        audience: Audience::AllFollowers,
        channel: Channel::Template,
        status: PushStatus::Completed,
        scheduled_at: None,
        created_by: "root".into(),
        created_at: at,
        started_at: Some(at),
        finished_at: Some(at),
        status_reason: None,
        counters: PushCounters::default(),
    }
}

fn course(title: &str, account: &AccountId) -> Course {
    let at = now();
    Course {
        id: CourseId::generate(),
        title: title.into(),
        speaker: "张医生".into(),
        description: String::new(),
        starts_at: at + chrono::Duration::days(30),
        ends_at: None,
        live_url: "https://live.example.com/1".into(),
        cover_url: None,
        required_account: None,
        templates: [(
            account.clone(),
            TemplateMapping {
                template_id: "tpl-1".into(),
                fields: [("thing1".to_string(), "{title}".to_string())].into(),
            },
        )]
        .into(),
        reminder_minutes: Vec::new(),
        status: CourseStatus::Published,
        qr: None,
        permanent_qr: false,
        qr_error: None,
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

fn follower(account: &AccountId, openid: &str, unionid: &str) -> Follower {
    Follower {
        account_id: account.clone(),
        openid: openid.into(),
        unionid: Some(unionid.into()),
        subscribed: true,
        subscribe_time: Some(now()),
        unsubscribed_at: None,
        remark: String::new(),
        tag_ids: Vec::new(),
        subscribe_scene: None,
        qr_scene: None,
        language: None,
        last_interaction_at: None,
        muted: false,
        synced_at: None,
        updated_at: now(),
    }
}

fn delivery(push: &Push, openid: &str) -> Delivery {
    Delivery {
        push_id: push.id,
        course_id: push.course_id,
        account_id: push.account_id.clone(),
        openid: openid.into(),
        status: DeliveryStatus::Delivered,
        msgid: Some(format!("m-{openid}")),
        client_msg_id: format!("{}-{openid}", push.id),
        attempts: 1,
        error_code: None,
        error_message: None,
        created_at: now(),
        updated_at: now(),
        expires_at: None,
    }
}

fn export_job(owner: &str, account: &AccountId) -> ExportJob {
    ExportJob {
        id: ExportJobId::generate(),
        owner: owner.into(),
        kind: ExportKind::Followers,
        format: livenotify::export::ExportFormat::Csv,
        request: json!({"kind": "followers", "format": "csv", "account_id": account}),
        status: ExportJobStatus::Failed,
        rows: 0,
        bytes: 0,
        key: None,
        file_name: None,
        error: Some("fixture".into()),
        attempts: 1,
        created_at: now(),
        started_at: None,
        finished_at: Some(now()),
        expires_at: None,
    }
}

async fn things(stack: &TestStack, appid: &str, side: &str, unionid: &str) -> Things {
    let account = stack
        .add_account(SandboxAccount::service(appid), EncryptionMode::Plaintext)
        .await
        .id;
    let store = stack.store();
    let course = course(&format!("课程 {side}"), &account);
    store.create_course(&course).await.unwrap();
    let push = push(course.id, &account);
    store.create_push(&push).await.unwrap();
    let openid = format!("o-scope-{side}");
    store
        .put_follower(&follower(&account, &openid, unionid))
        .await
        .unwrap();
    assert!(
        store
            .claim_delivery(&delivery(&push, &openid))
            .await
            .unwrap()
    );
    let run = SyncRun {
        id: SyncRunId::generate(),
        account_id: account.clone(),
        trigger: SyncTrigger::Manual,
        status: SyncRunStatus::Completed,
        started_at: now(),
        finished_at: Some(now()),
        checkpoint: None,
        counts: SyncCounts::default(),
        error: None,
    };
    store.save_sync_run(&run).await.unwrap();
    let admin = format!("fixture-{side}");
    create_admin(stack, &admin, viewer(&[appid])).await;
    Things {
        account,
        course: course.id,
        push: push.id,
        openid,
        run: run.id,
        admin,
    }
}

/// Every item of the table.
async fn scan(stack: &TestStack) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = stack
            .store()
            .client()
            .scan()
            .table_name(stack.store().table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// The table but the audit trail and login bookkeeping (which refused calls write), as
/// sorted canonical lines.
async fn table_state(stack: &TestStack) -> Vec<String> {
    let mut lines: Vec<String> = scan(stack)
        .await
        .into_iter()
        .filter(|item| {
            let pk = item.get("PK").and_then(|v| v.as_s().ok());
            !pk.is_some_and(|pk| pk.starts_with("AUDIT") || pk.starts_with("LOGIN"))
        })
        .map(|item| {
            let mut keys: Vec<_> = item.keys().cloned().collect();
            keys.sort();
            keys.iter()
                .map(|k| format!("{k}={}", canonical(&item[k])))
                .collect::<Vec<_>>()
                .join(";")
        })
        .collect();
    lines.sort();
    lines
}

fn canonical(value: &AttributeValue) -> String {
    match value {
        AttributeValue::M(map) => {
            let sorted: BTreeMap<_, _> = map.iter().collect();
            let fields: Vec<String> = sorted
                .iter()
                .map(|(k, v)| format!("{k}:{}", canonical(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        AttributeValue::L(list) => {
            format!(
                "[{}]",
                list.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => format!("{other:?}"),
    }
}

async fn build(stack: &TestStack) -> Fixture {
    let unionid = "u-scope-person".to_string();
    let a = things(stack, "wxscopea0000001", "a", &unionid).await;
    let b = things(stack, "wxscopeb0000001", "b", &unionid).await;
    let store = stack.store();
    let mut exports = BTreeMap::new();
    for (who, owner) in [
        (Who::Root, "root"),
        (Who::Operator, "op-a"),
        (Who::Viewer, "view-a"),
    ] {
        let job = export_job(owner, &a.account);
        store.create_export_job(&job).await.unwrap();
        exports.insert(who, job.id);
    }
    let foreign = export_job(&b.admin, &b.account);
    store.create_export_job(&foreign).await.unwrap();
    for t in [&a, &b] {
        let signup = SignUp {
            course_id: t.course,
            account_id: t.account.clone(),
            openid: t.openid.clone(),
            unionid: None,
            scene: Scene::Course(t.course).encode(),
            source: Some(SignUpSource::Scan),
            signed_up_at: now(),
        };
        store.add_signup(&signup).await.unwrap();
    }
    for account in [&a.account, &b.account] {
        let file = VerificationFile {
            account_id: account.clone(),
            name: format!("MP_verify_{account}.txt"),
            content: "Code123".into(),
            updated_at: now(),
        };
        store.set_verification_file(&file, None).await.unwrap();
    }
    let dead_letters = vec![
        json!({"type": "plan", "push_id": a.push}).to_string(),
        json!({"type": "plan", "push_id": b.push}).to_string(),
    ];
    Fixture {
        a,
        b,
        unionid,
        exports,
        foreign_export: foreign.id,
        snapshot: Vec::new(),
        dead_letters,
    }
}

/// Puts the fixture back as it was: its table items (deleted or changed ones rewritten) and
/// the push DLQ's two messages.
async fn restore(stack: &TestStack, fixture: &Fixture) {
    let client = stack.store().client();
    for chunk in fixture.snapshot.chunks(25) {
        let writes: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        let out = client
            .batch_write_item()
            .request_items(stack.store().table(), writes)
            .send()
            .await
            .unwrap();
        assert!(
            out.unprocessed_items.unwrap_or_default().is_empty(),
            "moto processes every write"
        );
    }
    let sqs = &stack.aws.clients.sqs;
    let dlq = &stack.resources.push.dlq_url;
    // Emptied by hand: SQS allows one PurgeQueue a minute.
    loop {
        let out = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            sqs.delete_message()
                .queue_url(dlq)
                .receipt_handle(message.receipt_handle.unwrap_or_default())
                .send()
                .await
                .unwrap();
        }
    }
    for body in &fixture.dead_letters {
        sqs.send_message()
            .queue_url(dlq)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
}

fn matches(expected: E, status: u16) -> bool {
    match expected {
        S(code) => status == code,
        Pass => !matches!(status, 401 | 403 | 404 | 500 | 503),
    }
}

struct Case<'a> {
    rule: &'a Rule,
    who: Who,
    side: Side,
    expected: E,
}

impl Case<'_> {
    fn name(&self) -> String {
        format!(
            "{:?} {:?} {} {}",
            self.who,
            self.side,
            self.rule.method.to_uppercase(),
            self.rule.route
        )
    }

    /// A call that must leave the table as it was: anything refused, and anything a scoped
    /// admin does on B's things.
    fn changes_nothing(&self) -> bool {
        let refused = matches!(self.expected, S(401 | 403 | 404));
        refused || (self.who != Who::Root && self.side == Side::Out)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_by_every_role_in_and_out_of_scope() {
    let stack = TestStack::start().await;
    let mut fixture = build(&stack).await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    let op = login_as(&stack, "op-a", operator(&[fixture.a.account.as_str()])).await;
    let view = login_as(&stack, "view-a", viewer(&[fixture.a.account.as_str()])).await;
    fixture.snapshot = scan(&stack).await;
    restore(&stack, &fixture).await;
    let clients: BTreeMap<Who, AdminClient> =
        [(Who::Root, root), (Who::Operator, op), (Who::Viewer, view)].into();

    // The table and the served document name the same operations.
    let doc = call(&stack, Method::GET, "/api/openapi.json", None)
        .await
        .expect(200);
    let mut served = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if PUBLIC.contains(&path.as_str()) {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            served.insert(format!("{method} {path}"));
        }
    }
    let rules = table();
    let listed: BTreeSet<String> = rules
        .iter()
        .map(|r| format!("{} {}", r.method, r.route))
        .collect();
    assert_eq!(rules.len(), listed.len(), "one entry per operation");
    let missing: Vec<_> = served.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&served).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the expectation table must list exactly the served operations:\n\
         served without an entry: {missing:?}\nentries without a route: {stale:?}"
    );

    // Calls that must change nothing go first, while nothing runs in the background.
    let mut cases = Vec::new();
    for rule in &rules {
        for (who, expect) in [
            (Who::Root, rule.root),
            (Who::Operator, rule.operator),
            (Who::Viewer, rule.viewer),
        ] {
            for (side, expected) in [(Side::In, expect[0]), (Side::Out, expect[1])] {
                let same_request = fixture.fill(rule.request, who, Side::In)
                    == fixture.fill(rule.request, who, Side::Out)
                    && rule.body.map(|b| fixture.fill(b, who, Side::In))
                        == rule.body.map(|b| fixture.fill(b, who, Side::Out));
                if side == Side::Out && same_request {
                    // A list: one request, checked for leaks below.
                    continue;
                }
                cases.push(Case {
                    rule,
                    who,
                    side,
                    expected,
                });
            }
        }
    }
    cases.sort_by_key(|c| !c.changes_nothing());

    let forbidden_ids = fixture.out_of_scope_ids();
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in &cases {
        let method = Method::from_bytes(case.rule.method.to_uppercase().as_bytes()).unwrap();
        let path = fixture.fill(case.rule.request, case.who, case.side);
        let body_text = case.rule.body.map(|b| fixture.fill(b, case.who, case.side));
        let body = body_text
            .as_deref()
            .map(|b| serde_json::from_str::<Value>(b).expect("body templates are JSON"));
        // What the caller sent may be echoed (e.g. the id of a 404): that reveals nothing.
        let sent = format!("{path} {}", body_text.unwrap_or_default());
        let before = if case.changes_nothing() {
            Some(table_state(&stack).await)
        } else {
            // Earlier authorised calls may have changed or deleted fixture items.
            restore(&stack, &fixture).await;
            None
        };
        let reply = clients[&case.who].call(method, &path, body).await;
        checked += 1;
        let status = reply.status.as_u16();
        let name = case.name();
        if !matches(case.expected, status) {
            failures.push(format!(
                "{name}: expected {:?}, got {status} {}",
                case.expected, reply.body
            ));
        }
        if case.who != Who::Root {
            let text = reply.body.to_string();
            for id in forbidden_ids
                .iter()
                .filter(|id| !sent.contains(id.as_str()))
            {
                if text.contains(id.as_str()) {
                    failures.push(format!(
                        "{name}: the answer shows out-of-scope {id}: {text}"
                    ));
                }
            }
            let key = format!("{} {}", case.rule.method, case.rule.route);
            if case.side == Side::In
                && reply.status.is_success()
                && !reply.body.is_null()
                && !NO_MARKER.contains(&key.as_str())
                && !fixture
                    .in_scope_ids(case.who)
                    .iter()
                    .any(|id| text.contains(id.as_str()))
            {
                failures.push(format!("{name}: shows nothing of its own scope: {text}"));
            }
        }
        if let Some(before) = before {
            let after = table_state(&stack).await;
            if before != after {
                let gone: Vec<_> = before.iter().filter(|i| !after.contains(i)).collect();
                let new: Vec<_> = after.iter().filter(|i| !before.contains(i)).collect();
                failures.push(format!(
                    "{name} ({status}) changed data:\nbefore: {gone:#?}\nafter: {new:#?}"
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} calls made");
    assert!(
        failures.is_empty(),
        "{} of {checked} calls broke the access rules:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The operator's redrive moved A's dead letter only: B's is still in the DLQ.
    restore(&stack, &fixture).await;
    let moved = clients[&Who::Operator]
        .post("/api/dead-letters/push/redrive", json!({}))
        .await
        .expect(200);
    assert_eq!(moved["moved"], 1);
    let left = clients[&Who::Root]
        .get("/api/dead-letters?queue=push")
        .await
        .expect(200);
    let bodies: Vec<String> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["body"].to_string())
        .collect();
    assert_eq!(bodies.len(), 1, "{left}");
    assert!(bodies[0].contains(&fixture.b.push.to_string()), "{left}");
    // Logging in again still works for everyone (nothing above ended a session by accident).
    for name in ["root", "op-a", "view-a"] {
        login(&stack, name)
            .await
            .get("/api/auth/me")
            .await
            .expect(200);
    }
    stack.shutdown().await;
}
