//! Least privilege checked against the code, not only the template against a table (#20).
//!
//! Every function runs with credentials of its own IAM role, whose policy is read from
//! template.yaml, against a moto that checks each request like AWS does
//! (`infra/python/moto_server.py --iam-denials`). A call the code makes that its role does not
//! allow is refused and written to the denials file: a walk through every function's work must
//! leave that file empty. A negative control shows the checks are on and resource-scoped.
//!
//! Not covered here: the logs and Secrets Manager statements (Lambda's runtime writes the logs;
//! the local stack reads no secrets) and the VPC network-interface policy (no VPC in moto);
//! tests/tests/template_deploy.rs checks those in the template.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use livenotify::aws::AwsClients;
use livenotify::domain::Role;
use livenotify_tests::admin::{AdminClient, login_as, wait_for_export};
use livenotify_tests::{TestAws, TestStack};
use local_gateway::FunctionClients;
use local_gateway::provision::Resources;
use serde_json::{Value, json};
use serde_yaml::Value as Yaml;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wechat_sandbox::{EncryptionMode, SandboxAccount};

/// moto's default account and the tests' region.
const ACCOUNT_ID: &str = "123456789012";
const REGION: &str = "us-east-1";

/// A moto of this test's own that enforces IAM (the shared one does not: every other test
/// would need credentials).
struct EnforcingMoto {
    endpoint: String,
    denials: PathBuf,
    _dir: tempfile::TempDir,
    _process: tokio::process::Child,
}

impl EnforcingMoto {
    async fn start() -> Self {
        let python = std::env::var("LIVENOTIFY_PYTHON").unwrap_or_else(|_| {
            panic!(
                "LIVENOTIFY_PYTHON is not set: point it at the project venv's python \
                 (make test does); the least-privilege check cannot be skipped"
            )
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let denials = dir.path().join("denials.jsonl");
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("moto log");
        let process = tokio::process::Command::new(&python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../infra/python/moto_server.py"
            ))
            .args(["-H", "127.0.0.1", "-p", &port.to_string(), "--iam-denials"])
            .arg(&denials)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().no_proxy().build().expect("http");
        let deadline = Instant::now() + Duration::from_secs(60);
        while http
            .get(format!("{endpoint}/moto-api/"))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "the IAM moto did not start");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Self {
            endpoint,
            denials,
            _dir: dir,
            _process: process,
        }
    }

    /// From now on every request must be signed by a known identity and be allowed.
    async fn enforce(&self) {
        let answer = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http")
            .post(format!("{}/moto-api/reset-auth", self.endpoint))
            .body("0")
            .send()
            .await
            .expect("reset-auth");
        assert!(answer.status().is_success(), "reset-auth: {answer:?}");
    }

    /// The refusals so far: (principal's role, action, resource).
    fn denials(&self) -> Vec<(String, String, String)> {
        let text = std::fs::read_to_string(&self.denials).unwrap_or_default();
        text.lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line).expect("denial line");
                let role = v["principal"]
                    .as_str()
                    .and_then(|p| p.split('/').nth(1))
                    .unwrap_or("?")
                    .to_string();
                let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                (role, field("action"), field("resource"))
            })
            .collect()
    }

    async fn clients(&self, credentials: Credentials) -> AwsClients {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .credentials_provider(credentials)
            .load()
            .await;
        AwsClients::from_sdk_config(&config)
    }
}

/// The ARNs of this test's resources under their logical ids in template.yaml.
struct Arns(BTreeMap<String, String>);

impl Arns {
    fn new(resources: &Resources) -> Self {
        let queue = |url: &str| {
            let name = url.rsplit('/').next().expect("queue name");
            format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}")
        };
        let mut arns = BTreeMap::new();
        arns.insert(
            "Table".to_string(),
            format!(
                "arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{}",
                resources.table
            ),
        );
        arns.insert(
            "Bucket".to_string(),
            format!("arn:aws:s3:::{}", resources.bucket),
        );
        for (name, pair) in [
            ("Push", &resources.push),
            ("Qr", &resources.qr),
            ("Sync", &resources.sync),
            ("Export", &resources.export),
        ] {
            arns.insert(format!("{name}Queue"), queue(&pair.url));
            arns.insert(format!("{name}DeadLetterQueue"), queue(&pair.dlq_url));
        }
        Self(arns)
    }

    fn of(&self, logical_id: &str) -> String {
        if let Some(arn) = self.0.get(logical_id) {
            return arn.clone();
        }
        // Log groups: Lambda's runtime writes them, not the code; any distinct ARN will do.
        assert!(
            logical_id.ends_with("LogGroup"),
            "template.yaml names {logical_id}, which this test cannot map to a resource"
        );
        format!("arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{logical_id}")
    }
}

/// template.yaml's policies with their intrinsic functions resolved for this test's resources.
struct Template {
    doc: Yaml,
    arns: Arns,
}

impl Template {
    fn read(resources: &Resources) -> Self {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
                .expect("read template.yaml");
        Self {
            doc: serde_yaml::from_str(&text).expect("template.yaml is YAML"),
            arns: Arns::new(resources),
        }
    }

    fn parameter(&self, name: &str) -> String {
        match name {
            "AWS::Partition" => "aws".into(),
            "AWS::Region" => REGION.into(),
            "AWS::AccountId" => ACCOUNT_ID.into(),
            // Parameters a deployment must give.
            "Stage" => "test".into(),
            "SecretsName" => "livenotify/test".into(),
            _ => {
                let default = &self.doc["Parameters"][name]["Default"];
                default
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| default.as_u64().map(|n| n.to_string()))
                    .unwrap_or_else(|| panic!("template.yaml: no default for {name}"))
            }
        }
    }

    fn sub(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("closed ${") + start;
            let name = &rest[start + 2..end];
            out.push_str(&match name.strip_suffix(".Arn") {
                Some(id) => self.arns.of(id),
                None => self.parameter(name),
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn resolve(&self, value: &Yaml) -> Value {
        match value {
            Yaml::Tagged(tagged) => {
                let text = tagged.value.as_str();
                match (tagged.tag.to_string().as_str(), text) {
                    ("!GetAtt", Some(target)) => {
                        let id = target.strip_suffix(".Arn").expect("GetAtt of an Arn");
                        Value::String(self.arns.of(id))
                    }
                    ("!Sub", Some(text)) => Value::String(self.sub(text)),
                    ("!Ref", Some(name)) => Value::String(self.parameter(name)),
                    (tag, _) => panic!("template.yaml policy uses {tag}, unknown to this test"),
                }
            }
            Yaml::Mapping(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.as_str().expect("key").to_string(), self.resolve(v)))
                    .collect(),
            ),
            Yaml::Sequence(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
            other => serde_json::to_value(other).expect("plain YAML value"),
        }
    }

    /// Each function's name (as in `livenotify-<stage>-<name>`) with its role's trust policy
    /// and inline policies.
    fn roles(&self) -> Vec<(String, Value, Vec<Value>)> {
        let resources = self.doc["Resources"].as_mapping().expect("Resources");
        let stage = self.parameter("Stage");
        resources
            .values()
            .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
            .map(|f| {
                let p = &f["Properties"];
                let full = self.resolve(&p["FunctionName"]);
                let name = full
                    .as_str()
                    .and_then(|n| n.strip_prefix(&format!("livenotify-{stage}-")))
                    .expect("function name")
                    .to_string();
                let Yaml::Tagged(role) = &p["Role"] else {
                    panic!("{name} has no own role")
                };
                let role_id = role.value.as_str().expect("role").trim_end_matches(".Arn");
                let role = &self.doc["Resources"][role_id]["Properties"];
                let policies = role["Policies"]
                    .as_sequence()
                    .expect("inline policies")
                    .iter()
                    .map(|p| self.resolve(&p["PolicyDocument"]))
                    .collect();
                (
                    name,
                    self.resolve(&role["AssumeRolePolicyDocument"]),
                    policies,
                )
            })
            .collect()
    }
}

/// The platform in the enforcing moto, each function with its role's credentials.
struct BoundStack {
    moto: EnforcingMoto,
    stack: TestStack,
    /// Each function's own clients (for the negative control).
    functions: FunctionClients,
}

async fn iam(moto: &EnforcingMoto) -> (aws_sdk_iam::Client, aws_sdk_sts::Client) {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "setup"))
        .load()
        .await;
    (
        aws_sdk_iam::Client::new(&config),
        aws_sdk_sts::Client::new(&config),
    )
}

/// Creates `name`'s role with `policies` and assumes it, as Lambda does for a function.
async fn assume(
    iam: &aws_sdk_iam::Client,
    sts: &aws_sdk_sts::Client,
    name: &str,
    trust: &Value,
    policies: &[Value],
) -> Credentials {
    let role = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("create role");
    for (i, policy) in policies.iter().enumerate() {
        iam.put_role_policy()
            .role_name(name)
            .policy_name(format!("{name}-{i}"))
            .policy_document(policy.to_string())
            .send()
            .await
            .expect("put role policy");
    }
    let arn = role.role.expect("role").arn;
    let assumed = sts
        .assume_role()
        .role_arn(arn)
        .role_session_name(format!("{name}-session"))
        .send()
        .await
        .expect("assume role");
    let c = assumed.credentials.expect("credentials");
    Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        None,
        "assumed-role",
    )
}

impl BoundStack {
    async fn start() -> Self {
        let moto = EnforcingMoto::start().await;
        // Before enforcement: the resources, one role per function, and a harness role for
        // the test's own setup and assertions.
        let setup = TestAws::connect_to(moto.endpoint.clone()).await;
        let resources = setup.fresh_resources().await;
        let (iam, sts) = iam(&moto).await;
        let lambda_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let harness = assume(
            &iam,
            &sts,
            "test-harness",
            &lambda_trust,
            &[json!({"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})],
        )
        .await;
        let template = Template::read(&resources);
        let mut roles = BTreeMap::new();
        for (name, trust, policies) in template.roles() {
            let credentials = assume(&iam, &sts, &name, &trust, &policies).await;
            roles.insert(name, moto.clients(credentials).await);
        }
        let mut role = |name: &str| {
            roles
                .remove(name)
                .unwrap_or_else(|| panic!("template.yaml has no function {name}"))
        };
        let harness = moto.clients(harness).await;
        let functions = FunctionClients {
            wechat_callback: role("wechat-callback"),
            admin_api: role("admin-api"),
            export_worker: role("export-worker"),
            qr_generator: role("qr-generator"),
            push_worker: role("push-worker"),
            follower_sync: role("follower-sync"),
            scheduler: harness.clone(),
        };
        assert!(
            roles.is_empty(),
            "functions in template.yaml that the gateway does not run: {:?}",
            roles.keys()
        );
        moto.enforce().await;

        let aws = TestAws {
            clients: harness,
            endpoint: moto.endpoint.clone(),
        };
        let sandbox = wechat_sandbox::Sandbox::new(wechat_sandbox::Settings {
            auto_template_receipts: true,
            ..wechat_sandbox::Settings::default()
        });
        let stack = TestStack::launch(aws, resources, functions.clone(), sandbox, |_| {}).await;
        Self {
            moto,
            stack,
            functions,
        }
    }
}

/// Polls `check` until it gives a value; a refusal by IAM meanwhile fails at once, naming it.
async fn eventually(
    moto: &EnforcingMoto,
    what: &str,
    mut check: impl AsyncFnMut() -> Option<Value>,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        let denials = moto.denials();
        assert!(
            denials.is_empty(),
            "waiting for {what}: refused by IAM (role, action, resource): {denials:#?}"
        );
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn wait_for_push(moto: &EnforcingMoto, root: &AdminClient, push_id: &str) -> Value {
    eventually(moto, "the push to finish", async || {
        let push = root
            .get(&format!("/api/pushes/{push_id}"))
            .await
            .expect(200);
        let done = push["status"] == "completed"
            && push["counters"]["sent"] == push["counters"]["delivered"];
        done.then_some(push)
    })
    .await
}

async fn download(stack: &TestStack, url: &str) -> Vec<u8> {
    let answer = stack.http.get(url).send().await.expect("download");
    assert_eq!(answer.status(), 200, "presigned download of {url}");
    answer.bytes().await.expect("body").to_vec()
}

#[tokio::test]
async fn every_function_does_its_work_within_its_own_role() {
    let bound = BoundStack::start().await;
    let stack = &bound.stack;
    let root = login_as(stack, "root", Role::SuperAdmin).await;

    // admin-api registers a WeChat account (a transaction of puts).
    let appid = "wxleastpriv000001";
    let account = SandboxAccount::service(appid)
        .in_open_platform("least")
        .with_callback(
            format!("{}/wechat/{appid}", stack.url()),
            EncryptionMode::Safe,
        );
    stack.sandbox.add_account(account.clone());
    root.post(
        "/api/accounts",
        json!({"name": "最小权限", "kind": "service", "appid": appid,
               "original_id": account.original_id, "callback_mode": "safe",
               "app_secret": account.secret, "callback_token": account.token,
               "encoding_aes_key": account.encoding_aes_key}),
    )
    .await
    .expect(201);
    root.get("/api/health").await.expect(200);
    // The domain verification file: admin-api writes it, wechat-callback serves it.
    root.put(
        &format!("/api/accounts/{appid}/verification-file"),
        json!({"name": "MP_verify_Least1.txt", "content": "Least1"}),
    )
    .await
    .expect(200);
    let served = stack
        .http
        .get(format!("{}/MP_verify_Least1.txt", stack.url()))
        .send()
        .await
        .expect("fetch the verification file");
    assert_eq!(served.text().await.expect("body"), "Least1");

    // follower-sync: "sync now" through its queue; pages in S3, followers in the table.
    stack.sandbox.add_followers(appid, 4);
    root.post(&format!("/api/accounts/{appid}/sync-runs"), json!({}))
        .await
        .expect(202);
    eventually(&bound.moto, "the sync", async || {
        let runs = root
            .get(&format!("/api/accounts/{appid}/sync-runs"))
            .await
            .expect(200);
        (runs["items"][0]["status"] == "completed").then_some(runs)
    })
    .await;

    // wechat-callback: a follow and a keyword message, encrypted.
    let visitor = stack.sandbox.new_user(appid).expect("user");
    assert!(
        stack
            .sandbox
            .follow(&visitor)
            .await
            .expect("follow")
            .delivered()
    );
    stack
        .sandbox
        .send_text(&visitor, "课程")
        .await
        .expect("text");
    let followers = root
        .all_pages(&format!("/api/accounts/{appid}/followers"), 50)
        .await;
    assert_eq!(followers.len(), 5, "4 synced + 1 who followed");
    root.get(&format!("/api/accounts/{appid}/followers/{visitor}"))
        .await
        .expect(200);

    // qr-generator renders the course's codes into S3; admin-api presigns the downloads.
    let course = root
        .post(
            "/api/courses",
            json!({"title": "最小权限课程", "live_url": "https://live.example.com/least",
                   "starts_at": (livenotify::domain::now() + chrono::Duration::days(1)).to_rfc3339(),
                   "templates": {appid: {"template_id": "tpl-least", "fields": {"thing1": "{title}"}}}}),
        )
        .await
        .expect(201);
    let course_id = course["id"].as_str().expect("course id").to_string();
    let qr = eventually(&bound.moto, "the QR codes", async || {
        let qr = root
            .get(&format!("/api/courses/{course_id}/qr"))
            .await
            .expect(200);
        (qr["ready"] == true).then_some(qr)
    })
    .await;
    let png = download(stack, qr["landing"]["png_url"].as_str().expect("png")).await;
    assert!(png.starts_with(b"\x89PNG"));
    assert!(qr["accounts"][appid]["png_url"].is_string(), "{qr}");

    // push-worker fans out and sends; the receipts come back through wechat-callback.
    let pushed = root
        .post(
            "/api/pushes",
            json!({"course_id": course_id, "account_ids": [appid],
                   "audience": {"type": "all_followers"}}),
        )
        .await
        .expect(201);
    let push = wait_for_push(
        &bound.moto,
        &root,
        pushed["pushes"][0]["id"].as_str().expect("id"),
    )
    .await;
    assert_eq!(push["counters"]["delivered"], 5, "{push}");
    // An uploaded openid list: admin-api writes it to S3, push-worker reads it.
    let listed = root
        .post(
            "/api/pushes",
            json!({"course_id": course_id, "account_ids": [appid],
                   "audience": {"type": "openid_list", "openids": [visitor]}}),
        )
        .await
        .expect(201);
    let listed_id = listed["pushes"][0]["id"].as_str().expect("id").to_string();
    let listed = wait_for_push(&bound.moto, &root, &listed_id).await;
    assert_eq!(listed["counters"]["delivered"], 1, "{listed}");
    root.get(&format!("/api/pushes/{listed_id}/deliveries"))
        .await
        .expect(200);
    root.get(&format!("/api/courses/{course_id}/deliveries"))
        .await
        .expect(200);
    root.get(&format!(
        "/api/accounts/{appid}/followers/{visitor}/deliveries"
    ))
    .await
    .expect(200);

    // The export worker streams a file into S3; admin-api presigns it.
    let queued = root
        .post(
            "/api/exports",
            json!({"kind": "followers", "format": "csv", "account_id": appid}),
        )
        .await
        .expect(202);
    let export = wait_for_export(&root, queued["export_id"].as_str().expect("id")).await;
    assert_eq!(export["status"], "succeeded", "{export}");
    let csv = download(stack, export["url"].as_str().expect("url")).await;
    assert!(String::from_utf8_lossy(&csv).contains(&visitor));

    // The rest of admin-api's reads and a cleanup.
    for queue in ["push", "qr", "sync", "export"] {
        root.get(&format!("/api/dead-letters?queue={queue}"))
            .await
            .expect(200);
    }
    for path in [
        "/api/audit",
        "/api/sync-runs",
        "/api/pushes",
        "/api/exports",
        "/api/admins",
    ] {
        root.get(path).await.expect(200);
    }
    let deleted = root
        .post(
            "/api/deliveries/delete",
            json!({"records": [{"push_id": listed_id, "openid": visitor}]}),
        )
        .await
        .expect(200);
    assert_eq!(deleted["deleted"], 1, "{deleted}");
    root.post(&format!("/api/courses/{course_id}/qr"), json!({}))
        .await
        .expect(202);
    root.delete(&format!("/api/courses/{course_id}"))
        .await
        .expect(204);
    // Let the queued QR regeneration and deletion run through qr-generator.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let denials = bound.moto.denials();
    assert!(
        denials.is_empty(),
        "calls the functions made that their roles in template.yaml do not allow \
         (role, action, resource): {denials:#?}"
    );
    bound.stack.shutdown().await;
}

#[tokio::test]
async fn enforcement_is_on_and_scoped_to_resources() {
    let bound = BoundStack::start().await;
    let table = bound.stack.resources.table.clone();
    let key = || {
        std::collections::HashMap::from([
            ("PK".to_string(), AttributeValue::S("LP#probe".into())),
            ("SK".to_string(), AttributeValue::S("LP#probe".into())),
        ])
    };
    let f = &bound.functions;
    // Allowed: qr-generator reads items and queries GSI1.
    f.qr_generator
        .dynamodb
        .get_item()
        .table_name(&table)
        .set_key(Some(key()))
        .send()
        .await
        .expect("qr-generator may GetItem");
    // Refused: an action its role lacks, and an allowed action on a resource it lacks (the
    // table itself rather than GSI1).
    let put = f
        .qr_generator
        .dynamodb
        .put_item()
        .table_name(&table)
        .set_item(Some(key()))
        .send()
        .await;
    assert!(put.is_err(), "qr-generator has no PutItem");
    let query = f
        .qr_generator
        .dynamodb
        .query()
        .table_name(&table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("LP#probe".into()))
        .send()
        .await;
    assert!(query.is_err(), "qr-generator may query GSI1 only");
    // S3 and SQS are scoped by key prefix and queue.
    let upload = f
        .wechat_callback
        .s3
        .put_object()
        .bucket(&bound.stack.resources.bucket)
        .key("qr/forged.png")
        .body(b"x".to_vec().into())
        .send()
        .await;
    assert!(upload.is_err(), "wechat-callback writes nothing to S3");
    let send = f
        .admin_api
        .sqs
        .send_message()
        .queue_url(&bound.stack.resources.push.dlq_url)
        .message_body("{}")
        .send()
        .await;
    assert!(
        send.is_err(),
        "admin-api does not send to a dead-letter queue"
    );
    // Batch calls are checked as the calls they contain.
    let batch = f
        .wechat_callback
        .sqs
        .send_message_batch()
        .queue_url(&bound.stack.resources.push.url)
        .entries(
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id("1")
                .message_body("{}")
                .build()
                .expect("entry"),
        )
        .send()
        .await;
    assert!(batch.is_err(), "wechat-callback sends no push jobs");
    // Unknown credentials get nowhere.
    let stranger = bound
        .moto
        .clients(Credentials::new("AKIDSTRANGER", "nope", None, None, "x"))
        .await;
    let listed = stranger.dynamodb.list_tables().send().await;
    assert!(listed.is_err(), "unknown credentials are refused");

    let table_arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}");
    let queue_arn = |url: &str| {
        format!(
            "arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{}",
            url.rsplit('/').next().expect("name")
        )
    };
    let expected = vec![
        (
            "qr-generator".to_string(),
            "dynamodb:PutItem".to_string(),
            table_arn.clone(),
        ),
        (
            "qr-generator".into(),
            "dynamodb:Query".into(),
            table_arn.clone(),
        ),
        (
            "wechat-callback".into(),
            "s3:PutObject".into(),
            format!(
                "arn:aws:s3:::{}/qr/forged.png",
                bound.stack.resources.bucket
            ),
        ),
        (
            "admin-api".into(),
            "sqs:SendMessage".into(),
            queue_arn(&bound.stack.resources.push.dlq_url),
        ),
        (
            "wechat-callback".into(),
            "sqs:SendMessage".into(),
            queue_arn(&bound.stack.resources.push.url),
        ),
    ];
    assert_eq!(bound.moto.denials(), expected);
    bound.stack.shutdown().await;
}
