//! qr-generator against moto and the WeChat sandbox: the gateway polls the QR queue and runs
//! the real handler; the images in S3 are decoded back and compared with what they must say.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{Duration, Utc};
use livenotify::blobs::{DEFAULT_LINK_TTL, QR_CACHE_CONTROL, qr_links};
use livenotify::domain::{
    Account, AccountId, Course, CourseId, CourseQrCodes, CourseStatus, QrImage, Scene, landing_url,
    now,
};
use livenotify::jobs::QrJob;
use livenotify_tests::TestStack;
use qr_generator::generate::{Generated, generate};
use qr_generator::render::PNG_MIN_PX;
use std::collections::BTreeMap;
use wechat_sandbox::settings::endpoints::QRCODE_CREATE;
use wechat_sandbox::{EncryptionMode, Fault, SandboxAccount};

const SERVICE_A: &str = "wxqrservice000001";
const SERVICE_B: &str = "wxqrservice000002";
const SUBSCRIPTION: &str = "wxqrsubscribe0001";

/// A stack with two service accounts and one subscription account (which gets no code).
async fn stack() -> (TestStack, Vec<Account>) {
    let stack = TestStack::start().await;
    let mut accounts = Vec::new();
    for account in [
        SandboxAccount::service(SERVICE_A),
        SandboxAccount::service(SERVICE_B),
        SandboxAccount::subscription(SUBSCRIPTION),
    ] {
        accounts.push(stack.add_account(account, EncryptionMode::Plaintext).await);
    }
    (stack, accounts)
}

fn new_course(starts_in: Duration) -> Course {
    let at = now();
    Course {
        id: CourseId::generate(),
        title: "肺癌靶向治疗新进展".into(),
        speaker: "李主任".into(),
        description: String::new(),
        starts_at: at + starts_in,
        ends_at: None,
        live_url: "https://live.example.com/room/1".into(),
        cover_url: None,
        required_account: None,
        templates: BTreeMap::new(),
        reminder_minutes: Vec::new(),
        status: CourseStatus::Published,
        qr: None,
        permanent_qr: false,
        qr_error: None,
        version: 0,
        created_at: at,
        updated_at: at,
    }
}

fn account(id: &str) -> AccountId {
    AccountId::new(id).unwrap()
}

/// Waits (polling, at most 30 s) until the course's codes satisfy `ready`.
async fn wait_for_codes(
    stack: &TestStack,
    id: CourseId,
    ready: impl Fn(&CourseQrCodes) -> bool,
) -> Course {
    for _ in 0..300 {
        let course = stack.store().get_course(id).await.unwrap();
        if course.qr.as_ref().is_some_and(&ready) {
            return course;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("QR codes of course {id} not ready within 30 s");
}

struct StoredObject {
    bytes: Vec<u8>,
    content_type: Option<String>,
    cache_control: Option<String>,
    e_tag: Option<String>,
}

async fn object(stack: &TestStack, key: &str) -> StoredObject {
    let out = stack
        .aws
        .clients
        .s3
        .get_object()
        .bucket(&stack.resources.bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("object {key} missing: {e:?}"));
    StoredObject {
        content_type: out.content_type.clone(),
        cache_control: out.cache_control.clone(),
        e_tag: out.e_tag.clone(),
        bytes: out.body.collect().await.unwrap().into_bytes().to_vec(),
    }
}

/// Decodes a PNG QR code back to its text, checking it is print-sized.
fn decode_png(png: &[u8]) -> String {
    let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .unwrap()
        .to_luma8();
    assert!(image.width() >= PNG_MIN_PX, "{} px", image.width());
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

/// Checks that both images of `code` are in S3 with the right headers and that the PNG
/// decodes to the recorded content.
async fn assert_images(stack: &TestStack, code: &QrImage) {
    let png = object(stack, &code.png_key).await;
    assert_eq!(png.content_type.as_deref(), Some("image/png"));
    assert_eq!(png.cache_control.as_deref(), Some(QR_CACHE_CONTROL));
    assert_eq!(decode_png(&png.bytes), code.content);
    let svg = object(stack, &code.svg_key).await;
    assert_eq!(svg.content_type.as_deref(), Some("image/svg+xml"));
    let svg = String::from_utf8(svg.bytes).unwrap();
    assert!(svg.contains("<svg") && svg.contains("<path"), "{svg:.200}");
}

fn deps(stack: &TestStack) -> qr_generator::Deps {
    qr_generator::Deps {
        platform: stack.platform.clone(),
    }
}

#[tokio::test]
async fn a_new_course_gets_decodable_codes_in_s3() {
    let (stack, _) = stack().await;
    let course = new_course(Duration::days(3));
    stack.store().create_course(&course).await.unwrap();
    let queued = std::time::Instant::now();
    stack
        .platform
        .queues
        .qr(&QrJob::Generate {
            course_id: course.id,
        })
        .await
        .unwrap();
    let stored = wait_for_codes(&stack, course.id, |_| true).await;
    // Reported, not asserted: the latency depends on the machine.
    eprintln!(
        "QR codes recorded {:?} after the job was enqueued",
        queued.elapsed()
    );
    let codes = stored.qr.clone().unwrap();
    // Recording the codes is not an edit.
    assert_eq!(stored.version, 1);
    assert_eq!(stored.updated_at, course.updated_at);
    assert!(stored.qr_error.is_none());

    // Landing page.
    assert_eq!(codes.landing.content, landing_url(&stack.url(), course.id));
    assert_eq!(
        codes.landing.content,
        format!("{}/c/{}", stack.url(), course.id)
    );
    assert_eq!(codes.landing.ticket, None);
    assert_images(&stack, &codes.landing).await;

    // One temporary parametric code per service account, none for the subscription account.
    let accounts: Vec<_> = codes.accounts.keys().cloned().collect();
    assert_eq!(accounts, vec![account(SERVICE_A), account(SERVICE_B)]);
    let scene = Scene::Course(course.id).encode();
    for (id, code) in &codes.accounts {
        assert_images(&stack, code).await;
        let ticket = code.ticket.as_deref().unwrap();
        let issued = stack
            .sandbox
            .qr_ticket(ticket)
            .expect("ticket known to WeChat");
        assert_eq!(issued.appid, id.as_str());
        assert_eq!(issued.action_name, "QR_STR_SCENE");
        assert_eq!(issued.scene, wechat_sandbox::Scene::Str(scene.clone()));
        assert_eq!(
            issued.url, code.content,
            "the image encodes the ticket's url"
        );
        assert_eq!(code.scene.as_deref(), Some(scene.as_str()));
        let expires = code.expires_at.unwrap();
        let lifetime = expires - Utc::now();
        assert!(
            lifetime > Duration::days(29) && lifetime <= Duration::days(30),
            "{lifetime:?}"
        );
        assert_eq!(issued.expires_at, Some(issued.created_at + 2_592_000));
        assert!(
            code.png_key.starts_with(&format!("qr/{}/", course.id)),
            "{}",
            code.png_key
        );
    }

    // Presigned links download the same images under Chinese file names.
    let links = qr_links(
        &stack.platform.s3,
        &stack.platform.config.bucket,
        &stored,
        DEFAULT_LINK_TTL,
    )
    .await
    .unwrap()
    .expect("links once codes exist");
    assert_eq!(links.accounts.len(), 2);
    let response = stack.http.get(&links.landing.png_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let disposition = response
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    assert!(
        disposition.contains("filename*=UTF-8''%E8%82%BA"),
        "{disposition}"
    );
    let body = response.bytes().await.unwrap();
    let scanned = decode_png(&body);
    assert_eq!(scanned, codes.landing.content);
    // What a phone does with the scanned landing code: the course page opens.
    let page = stack.http.get(&scanned).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(&course.title));
    stack.shutdown().await;
}

#[tokio::test]
async fn regeneration_is_idempotent_and_admin_edits_keep_the_codes() {
    let (stack, _) = stack().await;
    let mut course = new_course(Duration::days(3));
    course.cover_url = Some("https://img.example.com/cover.png".into());
    stack.store().create_course(&course).await.unwrap();
    let as_read_by_admin = stack.store().get_course(course.id).await.unwrap();

    assert_eq!(
        generate(&stack.platform, course.id).await.unwrap(),
        Generated::Recorded
    );
    let first = stack.store().get_course(course.id).await.unwrap();
    let codes = first.qr.clone().unwrap();
    let created = stack.sandbox.call_count(QRCODE_CREATE);
    assert_eq!(created, 2);
    let mut tags = Vec::new();
    for code in std::iter::once(&codes.landing).chain(codes.accounts.values()) {
        tags.push(object(&stack, &code.png_key).await.e_tag);
        tags.push(object(&stack, &code.svg_key).await.e_tag);
    }

    // Again, twice: same tickets, same objects, no WeChat call, the course untouched.
    for _ in 0..2 {
        assert_eq!(
            generate(&stack.platform, course.id).await.unwrap(),
            Generated::Unchanged
        );
    }
    assert_eq!(stack.sandbox.call_count(QRCODE_CREATE), created);
    assert_eq!(stack.store().get_course(course.id).await.unwrap(), first);
    let mut again = Vec::new();
    for code in std::iter::once(&codes.landing).chain(codes.accounts.values()) {
        again.push(object(&stack, &code.png_key).await.e_tag);
        again.push(object(&stack, &code.svg_key).await.e_tag);
    }
    assert_eq!(again, tags);

    // An admin who loaded the course before the codes existed saves an edit: the codes stay.
    let mut edit = as_read_by_admin.clone();
    edit.title = "肺癌靶向治疗新进展（第二讲）".into();
    edit.cover_url = None;
    let saved = stack.store().update_course(&edit).await.unwrap();
    assert_eq!(saved.version, 2);
    assert_eq!(saved.qr.as_ref(), Some(&codes));
    let reread = stack.store().get_course(course.id).await.unwrap();
    assert_eq!(reread.title, edit.title);
    assert_eq!(reread.cover_url, None, "a cleared field is removed");
    assert_eq!(reread, saved);
    assert_eq!(reread.qr.as_ref(), Some(&codes));
    stack.shutdown().await;
}

#[tokio::test]
async fn concurrent_generations_leave_images_that_match_the_record() {
    let (stack, _) = stack().await;
    let course = new_course(Duration::days(3));
    stack.store().create_course(&course).await.unwrap();
    // Created and edited at once: two jobs race on the same keys.
    let (a, b) = tokio::join!(
        generate(&stack.platform, course.id),
        generate(&stack.platform, course.id)
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    assert!(outcomes.contains(&Generated::Recorded), "{outcomes:?}");
    let codes = stack
        .store()
        .get_course(course.id)
        .await
        .unwrap()
        .qr
        .unwrap();
    assert_eq!(codes.accounts.len(), 2);
    // Whatever the interleaving, every stored image encodes the recorded ticket.
    assert_images(&stack, &codes.landing).await;
    for code in codes.accounts.values() {
        assert_images(&stack, code).await;
    }
    stack.shutdown().await;
}

#[tokio::test]
async fn permanent_codes_when_the_course_asks_for_them() {
    let (stack, _) = stack().await;
    let mut course = new_course(Duration::days(3));
    course.permanent_qr = true;
    stack.store().create_course(&course).await.unwrap();
    generate(&stack.platform, course.id).await.unwrap();
    let stored = stack.store().get_course(course.id).await.unwrap();
    let permanent = stored.qr.clone().unwrap().accounts;
    for code in permanent.values() {
        assert_eq!(code.expires_at, None);
        let issued = stack
            .sandbox
            .qr_ticket(code.ticket.as_deref().unwrap())
            .unwrap();
        assert_eq!(issued.action_name, "QR_LIMIT_STR_SCENE");
        assert!(issued.permanent);
        assert_images(&stack, code).await;
    }

    // Switching to temporary codes replaces them on the next generation.
    let mut edit = stored.clone();
    edit.permanent_qr = false;
    stack.store().update_course(&edit).await.unwrap();
    assert_eq!(
        generate(&stack.platform, course.id).await.unwrap(),
        Generated::Recorded
    );
    let temporary = stack
        .store()
        .get_course(course.id)
        .await
        .unwrap()
        .qr
        .unwrap()
        .accounts;
    for (id, code) in &temporary {
        assert!(code.expires_at.is_some());
        assert_ne!(code.ticket, permanent[id].ticket);
        assert_images(&stack, code).await;
    }
    stack.shutdown().await;
}

fn sqs_event(job: &QrJob) -> SqsEvent {
    let mut message = SqsMessage::default();
    message.message_id = Some("m-1".into());
    message.body = Some(serde_json::to_string(job).unwrap());
    let mut event = SqsEvent::default();
    event.records = vec![message];
    event
}

#[tokio::test]
async fn wechat_failures_are_retried_and_surfaced() {
    let (stack, _) = stack().await;
    let course = new_course(Duration::days(3));
    stack.store().create_course(&course).await.unwrap();
    let job = QrJob::Generate {
        course_id: course.id,
    };

    // WeChat is down for every qrcode/create: the job fails (SQS will redeliver it, then
    // move it to the DLQ), the landing code is stored anyway and admins see why.
    stack.sandbox.inject(Fault::always(QRCODE_CREATE, -1));
    let response = qr_generator::handle(&deps(&stack), sqs_event(&job)).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m-1"]);
    // Three attempts per account before giving up.
    assert_eq!(stack.sandbox.call_count(QRCODE_CREATE), 6);
    let failed_course = stack.store().get_course(course.id).await.unwrap();
    let error = failed_course.qr_error.clone().expect("failure recorded");
    assert!(error.reason.contains(SERVICE_A), "{}", error.reason);
    assert!(error.reason.contains("生成失败"), "{}", error.reason);
    let partial = failed_course.qr.clone().expect("landing code recorded");
    assert!(partial.accounts.is_empty());
    assert_images(&stack, &partial.landing).await;

    // WeChat busy once per account: retried within the job, which succeeds and clears the
    // recorded failure.
    stack.sandbox.clear_faults();
    stack.sandbox.reset_counters();
    stack
        .sandbox
        .inject(Fault::sequence(QRCODE_CREATE, [-1, 0, -1, 0]));
    let response = qr_generator::handle(&deps(&stack), sqs_event(&job)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(stack.sandbox.call_count(QRCODE_CREATE), 4);
    let healed = stack.store().get_course(course.id).await.unwrap();
    assert!(healed.qr_error.is_none());
    let codes = healed.qr.unwrap();
    assert_eq!(codes.accounts.len(), 2);
    for code in codes.accounts.values() {
        assert_images(&stack, code).await;
    }

    // A job for a course that was deleted meanwhile succeeds without doing anything.
    let gone = QrJob::Generate {
        course_id: CourseId::generate(),
    };
    let response = qr_generator::handle(&deps(&stack), sqs_event(&gone)).await;
    assert!(response.batch_item_failures.is_empty());
    stack.shutdown().await;
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_retried_by_sqs_then_kept_in_the_dlq() {
    let (stack, _) = stack().await;
    // A queue pair of its own with a short visibility timeout, so SQS redelivers a failed
    // job at once, polled like Lambda's event-source mapping running the real handler.
    let queues = stack.aws.fresh_resources().await.qr;
    let sqs = &stack.aws.clients.sqs;
    sqs.set_queue_attributes()
        .queue_url(&queues.url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "1",
        )
        .send()
        .await
        .unwrap();
    stack.sandbox.inject(Fault::always(QRCODE_CREATE, 45009));
    let course = new_course(Duration::days(3));
    stack.store().create_course(&course).await.unwrap();
    let job = QrJob::Generate {
        course_id: course.id,
    };
    sqs.send_message()
        .queue_url(&queues.url)
        .message_body(serde_json::to_string(&job).unwrap())
        .send()
        .await
        .unwrap();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let handler_deps = deps(&stack);
    let poller = tokio::spawn(local_gateway::poller::poll(
        sqs.clone(),
        local_gateway::poller::PollSettings {
            queue_url: queues.url.clone(),
            batch_size: 5,
            wait: std::time::Duration::from_secs(1),
        },
        stop,
        move |event| {
            let deps = handler_deps.clone();
            async move { qr_generator::handle(&deps, event).await }
        },
    ));

    let mut dlq_body = None;
    for _ in 0..120 {
        let out = sqs
            .receive_message()
            .queue_url(&queues.dlq_url)
            .send()
            .await
            .unwrap();
        if let Some(message) = out.messages.unwrap_or_default().into_iter().next() {
            dlq_body = message.body;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    stop_tx.send(true).unwrap();
    poller.await.unwrap();
    let dlq_body = dlq_body.expect("the failing job reaches the DLQ within 60 s");
    assert_eq!(serde_json::from_str::<QrJob>(&dlq_body).unwrap(), job);
    // A used-up quota is not retried within a job: one call per account per delivery.
    assert_eq!(
        stack.sandbox.call_count(QRCODE_CREATE),
        2 * u64::from(local_gateway::provision::MAX_RECEIVES)
    );
    let failed = stack.store().get_course(course.id).await.unwrap();
    let reason = failed.qr_error.expect("failure recorded").reason;
    assert!(reason.contains("45009"), "{reason}");
    stack.shutdown().await;
}

#[tokio::test]
async fn nightly_refresh_renews_expiring_codes_of_courses_that_have_not_ended() {
    let (stack, _) = stack().await;
    let upcoming = new_course(Duration::days(10));
    let ended = new_course(Duration::days(-3));
    let mut cancelled = new_course(Duration::days(10));
    cancelled.status = CourseStatus::Cancelled;
    let fresh = new_course(Duration::days(10));
    for course in [&upcoming, &ended, &cancelled, &fresh] {
        stack.store().create_course(course).await.unwrap();
        generate(&stack.platform, course.id).await.unwrap();
    }
    // Pretend the codes were made 28 days ago: they expire in two days (the sandbox's own
    // expiry is not what the platform reads).
    for course in [&upcoming, &ended, &cancelled] {
        let stored = stack.store().get_course(course.id).await.unwrap();
        let mut codes = stored.qr.clone().unwrap();
        for code in codes.accounts.values_mut() {
            code.expires_at = Some(now() + Duration::days(2));
        }
        stack.store().set_course_qr(&stored, &codes).await.unwrap();
    }
    let before: BTreeMap<CourseId, Course> = {
        let mut all = BTreeMap::new();
        for course in [&upcoming, &ended, &cancelled, &fresh] {
            all.insert(
                course.id,
                stack.store().get_course(course.id).await.unwrap(),
            );
        }
        all
    };

    // The nightly job, as the schedule sends it, through the queue.
    stack
        .platform
        .queues
        .qr(&QrJob::RefreshExpiring)
        .await
        .unwrap();
    let renewed = wait_for_codes(&stack, upcoming.id, |codes| {
        codes.accounts.values().all(|c| {
            c.expires_at
                .is_some_and(|at| at > now() + Duration::days(29))
        })
    })
    .await;
    for (id, code) in &renewed.qr.unwrap().accounts {
        let old = &before[&upcoming.id].qr.as_ref().unwrap().accounts[id];
        assert_ne!(code.ticket, old.ticket);
        assert_images(&stack, code).await;
    }
    // Give any wrongly enqueued job time to run, then check nothing else changed.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    for course in [&ended, &cancelled, &fresh] {
        assert_eq!(
            stack.store().get_course(course.id).await.unwrap(),
            before[&course.id],
            "course {} left alone",
            course.title
        );
    }
    stack.shutdown().await;
}

#[test]
fn the_deployed_schedule_sends_the_refresh_job() {
    let template: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../../template.yaml")).unwrap();
    let schedule = &template["Resources"]["NightlyQrRefresh"]["Properties"];
    assert_eq!(
        schedule["ScheduleExpressionTimezone"].as_str(),
        Some("Asia/Shanghai")
    );
    let input = schedule["Target"]["Input"].as_str().unwrap();
    let job: QrJob = serde_json::from_str(input).unwrap();
    assert_eq!(job, QrJob::RefreshExpiring);
}
