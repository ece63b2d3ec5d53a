//! admin-api exports: CSV (BOM, formula neutralising) and XLSX written to S3, fetched through
//! their presigned links.

use livenotify::domain::{AccountId, Follower, Role, now};
use livenotify_tests::TestStack;
use livenotify_tests::admin::{AdminClient, login_as, viewer};
use serde_json::{Value, json};

async fn setup() -> (TestStack, AdminClient) {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    root.post(
        "/api/accounts",
        json!({"name": "htology", "kind": "service", "appid": "wxa",
               "app_secret": "s3cret-value", "callback_token": "tok123"}),
    )
    .await
    .expect(201);
    (stack, root)
}

const REMARKS: [&str; 6] = [
    "=HYPERLINK(\"http://evil\")",
    "+86 138",
    "-1",
    "@SUM(A1)",
    "张三, \"VIP\"",
    "普通",
];

async fn add_followers(stack: &TestStack) {
    for (i, remark) in REMARKS.iter().enumerate() {
        let at = now();
        stack
            .store()
            .put_follower(&Follower {
                account_id: AccountId::new("wxa").unwrap(),
                openid: format!("o{i}"),
                unionid: None,
                subscribed: true,
                subscribe_time: Some(at),
                unsubscribed_at: None,
                remark: (*remark).to_string(),
                tag_ids: vec![1, 2],
                subscribe_scene: None,
                qr_scene: None,
                language: None,
                last_interaction_at: None,
                muted: false,
                synced_at: None,
                updated_at: at,
            })
            .await
            .unwrap();
    }
}

async fn download(stack: &TestStack, export: &Value) -> Vec<u8> {
    let response = stack
        .http
        .get(export["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn follower_csv_has_bom_every_row_and_neutralised_formulas() {
    let (stack, root) = setup().await;
    add_followers(&stack).await;
    // Exporting is reading: a viewer may do it.
    let viewer = login_as(&stack, "view", viewer(&["wxa"])).await;
    let export = viewer
        .export(json!({"kind": "followers", "format": "csv", "account_id": "wxa"}))
        .await;
    assert_eq!(export["status"], "succeeded", "{export}");
    assert_eq!(export["rows"], 6);
    assert!(export["key"].as_str().unwrap().starts_with("exports/"));
    let bytes = download(&stack, &export).await;
    assert_eq!(bytes.len() as u64, export["bytes"].as_u64().unwrap());
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "公众号");
    let remark_col = headers.iter().position(|h| h == "备注").unwrap();
    let remarks: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[remark_col].to_string())
        .collect();
    assert_eq!(remarks.len(), 6);
    for remark in &remarks[..4] {
        assert!(remark.starts_with('\''), "{remark} not neutralised");
    }
    assert_eq!(remarks[4], "张三, \"VIP\"");
    assert_eq!(remarks[5], "普通");

    let filtered = root
        .export(
            json!({"kind": "followers", "format": "csv", "account_id": "wxa", "remark": "张三"}),
        )
        .await;
    assert_eq!(filtered["rows"], 1);
    stack.shutdown().await;
}

#[tokio::test]
async fn xlsx_courses_and_records_exports_work_and_bad_requests_are_refused() {
    let (stack, root) = setup().await;
    add_followers(&stack).await;
    let xlsx = root
        .export(json!({"kind": "followers", "format": "xlsx", "account_id": "wxa"}))
        .await;
    assert_eq!(xlsx["rows"], 6);
    let bytes = download(&stack, &xlsx).await;
    assert!(bytes.starts_with(b"PK\x03\x04"), "an xlsx is a zip");
    assert!(xlsx["key"].as_str().unwrap().ends_with(".xlsx"));

    for i in 0..3 {
        root.post(
            "/api/courses",
            json!({"title": format!("=课程{i}"), "starts_at": (now() + chrono::Duration::days(1)).to_rfc3339(),
                   "live_url": "https://live.example.com/x", "templates": {"wxa": {"template_id": "t", "fields": {"thing1": "{title}"}}}}),
        )
        .await
        .expect(201);
    }
    let courses = root
        .export(json!({"kind": "courses", "format": "csv"}))
        .await;
    assert_eq!(courses["rows"], 3);
    let text = String::from_utf8(download(&stack, &courses).await).unwrap();
    assert_eq!(text.lines().count(), 4, "header and 3 rows");
    assert!(text.contains(",'=课程0,"));

    let records = root
        .post(
            "/api/exports",
            json!({"kind": "deliveries", "format": "csv", "course_id": "01J0000000000000000000000Z"}),
        )
        .await;
    assert_eq!(records.status, 404);
    let neither = root
        .post(
            "/api/exports",
            json!({"kind": "deliveries", "format": "xlsx"}),
        )
        .await;
    assert_eq!(neither.status, 422);
    let wrong = root
        .post("/api/exports", json!({"kind": "nothing", "format": "csv"}))
        .await;
    assert_eq!(wrong.status, 400);
    let unknown = root
        .post(
            "/api/exports",
            json!({"kind": "followers", "format": "csv", "account_id": "nope"}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    stack.shutdown().await;
}

#[tokio::test]
async fn export_jobs_are_listed_per_owner_guarded_and_failures_are_recorded() {
    use livenotify::domain::{ExportJob, ExportJobId, ExportJobStatus, ExportKind};
    use livenotify::export::ExportFormat;
    use livenotify::jobs::ExportJobMessage;
    use livenotify_tests::admin::{call, wait_for_export};
    use reqwest::Method;

    let (stack, root) = setup().await;
    add_followers(&stack).await;
    let viewer = login_as(&stack, "view", viewer(&["wxa"])).await;
    let queued = viewer
        .post(
            "/api/exports",
            json!({"kind": "followers", "format": "csv", "account_id": "wxa", "subscribed": true}),
        )
        .await
        .expect(202);
    assert_eq!(queued["kind"], "followers");
    assert_eq!(queued["format"], "csv");
    assert_eq!(queued["owner"], "view");
    assert!(queued["url"].is_null());
    let id = queued["export_id"].as_str().unwrap().to_string();
    let done = wait_for_export(&viewer, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["rows"], 6);
    assert!(done["finished_at"].is_string() && done["started_at"].is_string());
    assert_eq!(
        download(&stack, &done).await.len() as u64,
        done["bytes"].as_u64().unwrap()
    );

    // The owner lists it; other admins do not see it in their list, and only super admins
    // may open it (to anyone else it is absent).
    let mine = viewer.all_pages("/api/exports", 10).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["export_id"], id.as_str());
    assert!(root.all_pages("/api/exports", 10).await.is_empty());
    root.get(&format!("/api/exports/{id}")).await.expect(200);
    let other = login_as(&stack, "view2", livenotify_tests::admin::viewer(&["wxa"])).await;
    let hidden = other.get(&format!("/api/exports/{id}")).await;
    assert_eq!(hidden.status, 404, "{}", hidden.body);
    assert!(other.all_pages("/api/exports", 10).await.is_empty());
    assert_eq!(viewer.get("/api/exports/not-an-id").await.status, 422);
    assert_eq!(
        viewer
            .get("/api/exports/01J0000000000000000000000Z")
            .await
            .status,
        404
    );
    for (method, path) in [
        (Method::GET, "/api/exports".to_string()),
        (Method::GET, format!("/api/exports/{id}")),
        (Method::POST, "/api/exports".to_string()),
    ] {
        let body = (method == Method::POST).then(|| json!({"kind": "courses", "format": "csv"}));
        assert_eq!(call(&stack, method, &path, body).await.status, 401);
    }

    // A job whose request no longer fits the data (its account is gone) fails with a reason.
    let at = now();
    let job = ExportJob {
        id: ExportJobId::generate(),
        owner: "root".into(),
        kind: ExportKind::Followers,
        format: ExportFormat::Csv,
        request: json!({"kind": "followers", "format": "csv", "account_id": "wxgone"}),
        status: ExportJobStatus::Pending,
        rows: 0,
        bytes: 0,
        key: None,
        file_name: None,
        error: None,
        attempts: 0,
        created_at: at,
        started_at: None,
        finished_at: None,
        expires_at: None,
    };
    stack.store().create_export_job(&job).await.unwrap();
    stack
        .platform
        .queues
        .export(&ExportJobMessage { export_id: job.id })
        .await
        .unwrap();
    let failed = wait_for_export(&root, &job.id.to_string()).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("wxgone"),
        "{failed}"
    );
    assert!(failed["url"].is_null());

    // Queueing an export is audited.
    let audit = root.all_pages("/api/audit", 100).await;
    assert!(audit.iter().any(|e| e["action"] == "POST /api/exports"
        && e["actor"] == "view"
        && e["target"] == format!("export/{id}")
        && e["outcome"] == "succeeded"));
    stack.shutdown().await;
}

#[tokio::test]
async fn exports_hold_only_the_callers_scope_as_it_is_when_the_file_is_written() {
    use livenotify::domain::{
        Audience, Channel, CourseId, Delivery, DeliveryStatus, ExportJob, ExportJobId,
        ExportJobStatus, ExportKind, Push, PushCounters, PushId, PushStatus,
    };
    use livenotify::jobs::ExportJobMessage;
    use livenotify_tests::admin::{operator, wait_for_export};

    let (stack, root) = setup().await;
    root.post(
        "/api/accounts",
        json!({"name": "onco", "kind": "service", "appid": "wxb",
               "app_secret": "s3cret-value", "callback_token": "tok456"}),
    )
    .await
    .expect(201);
    let starts = (now() + chrono::Duration::days(1)).to_rfc3339();
    let mut courses = Vec::new();
    for (title, accounts) in [
        ("甲课程", vec!["wxa"]),
        ("乙课程", vec!["wxb"]),
        ("联合课程", vec!["wxa", "wxb"]),
    ] {
        let templates: serde_json::Map<String, Value> = accounts
            .iter()
            .map(|a| {
                (
                    (*a).to_string(),
                    json!({"template_id": "t", "fields": {"thing1": "{title}"}}),
                )
            })
            .collect();
        let created = root
            .post(
                "/api/courses",
                json!({"title": title, "starts_at": starts, "live_url": "https://live.example.com/x",
                       "templates": templates}),
            )
            .await
            .expect(201);
        courses.push(created["id"].as_str().unwrap().parse::<CourseId>().unwrap());
    }
    // The joint course was pushed from both accounts.
    let joint = courses[2];
    for (account, openid) in [("wxa", "o-of-a"), ("wxb", "o-of-b")] {
        let at = now();
        let push = Push {
            id: PushId::generate(),
            course_id: joint,
            account_id: AccountId::new(account).unwrap(),
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
        };
        stack.store().create_push(&push).await.unwrap();
        let record = Delivery {
            push_id: push.id,
            course_id: joint,
            account_id: push.account_id.clone(),
            openid: openid.into(),
            status: DeliveryStatus::Delivered,
            msgid: None,
            client_msg_id: format!("{}-{openid}", push.id),
            attempts: 1,
            error_code: None,
            error_message: None,
            created_at: at,
            updated_at: at,
            expires_at: None,
        };
        assert!(stack.store().claim_delivery(&record).await.unwrap());
    }

    let op = login_as(&stack, "op-a", operator(&["wxa"])).await;
    let listed = op.export(json!({"kind": "courses", "format": "csv"})).await;
    assert_eq!(listed["status"], "succeeded", "{listed}");
    let text = String::from_utf8(download(&stack, &listed).await).unwrap();
    assert!(
        text.contains("甲课程") && text.contains("联合课程"),
        "{text}"
    );
    assert!(
        !text.contains("乙课程"),
        "a course of another account: {text}"
    );
    assert_eq!(listed["rows"], 2);

    let records = op
        .export(json!({"kind": "deliveries", "format": "csv", "course_id": joint.to_string()}))
        .await;
    assert_eq!(records["status"], "succeeded", "{records}");
    let text = String::from_utf8(download(&stack, &records).await).unwrap();
    assert!(text.contains("o-of-a"), "{text}");
    assert!(
        !text.contains("o-of-b"),
        "another account's records: {text}"
    );
    // The super admin's export of the same course has both.
    let all = root
        .export(json!({"kind": "deliveries", "format": "csv", "course_id": joint.to_string()}))
        .await;
    assert_eq!(all["rows"], 2);
    // Out of scope at request time: refused before anything is queued.
    let refused = op
        .post(
            "/api/exports",
            json!({"kind": "followers", "format": "csv", "account_id": "wxb"}),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let other_course = op
        .post(
            "/api/exports",
            json!({"kind": "deliveries", "format": "csv", "course_id": courses[1].to_string()}),
        )
        .await;
    assert_eq!(other_course.status, 404, "{}", other_course.body);

    // A job asked for while wxb was in the operator's scope, run after it was taken away: the
    // worker plans with the scope of now and writes nothing.
    let at = now();
    let job = ExportJob {
        id: ExportJobId::generate(),
        owner: "op-a".into(),
        kind: ExportKind::Followers,
        format: livenotify::export::ExportFormat::Csv,
        request: json!({"kind": "followers", "format": "csv", "account_id": "wxb"}),
        status: ExportJobStatus::Pending,
        rows: 0,
        bytes: 0,
        key: None,
        file_name: None,
        error: None,
        attempts: 0,
        created_at: at,
        started_at: None,
        finished_at: None,
        expires_at: None,
    };
    stack.store().create_export_job(&job).await.unwrap();
    stack
        .platform
        .queues
        .export(&ExportJobMessage { export_id: job.id })
        .await
        .unwrap();
    let done = wait_for_export(&op, &job.id.to_string()).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["url"].is_null() && done["key"].is_null());
    assert!(
        done["error"].as_str().unwrap().contains("无权"),
        "the reason is given: {done}"
    );
    stack.shutdown().await;
}
