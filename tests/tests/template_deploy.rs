//! template.yaml's deployment rules (issue #9): what cfn-lint cannot know about this platform.

use serde_yaml::{Mapping, Value};

fn template() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("read template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml is YAML")
}

fn resources(template: &Value) -> &Mapping {
    template["Resources"].as_mapping().expect("Resources")
}

/// The text under a tag such as `!GetAtt PushQueue.Arn` or `!Ref X`.
fn tagged(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(t) => t.value.as_str(),
        _ => None,
    }
}

fn functions(template: &Value) -> Vec<(&str, &Value)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(k, r)| (k.as_str().expect("logical id"), r))
        .collect()
}

#[test]
fn every_function_is_a_cargo_lambda_build_with_its_own_role_logs_memory_and_timeout() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(
        globals["Architectures"][0]
            .as_str()
            .or(tagged(&globals["Architectures"][0])),
        Some("Architecture")
    );
    let functions = functions(&template);
    assert_eq!(functions.len(), livenotify::function::FUNCTION_NAMES.len());
    for (name, f) in functions {
        assert_eq!(
            f["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name}"
        );
        let p = &f["Properties"];
        assert!(
            p["MemorySize"].as_u64().is_some(),
            "{name} has no MemorySize"
        );
        assert!(p["Timeout"].as_u64().is_some(), "{name} has no Timeout");
        let role = tagged(&p["Role"]).unwrap_or_else(|| panic!("{name} has no own Role"));
        let role_id = role.trim_end_matches(".Arn");
        let role = &resources(&template)[role_id];
        assert_eq!(role["Type"].as_str(), Some("AWS::IAM::Role"), "{name}");
        let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_sequence()
            .expect("statements");
        for s in statements {
            // No wildcard actions and no wildcard resources.
            for action in s["Action"]
                .as_sequence()
                .cloned()
                .unwrap_or_else(|| vec![s["Action"].clone()])
            {
                let action = action.as_str().expect("action");
                assert!(!action.contains('*'), "{name}: wildcard action {action}");
            }
            assert_ne!(s["Resource"].as_str(), Some("*"), "{name}: Resource *");
        }
        let log_group = tagged(&p["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("{name} has no own log group"));
        let log_group = &resources(&template)[log_group];
        assert!(
            tagged(&log_group["Properties"]["RetentionInDays"]).is_some(),
            "{name}: log retention"
        );
    }
}

#[test]
fn queue_triggers_have_dlqs_partial_batches_and_six_times_the_timeout() {
    let template = template();
    let mut checked = 0;
    for (name, f) in functions(&template) {
        let p = &f["Properties"];
        let Some(events) = p["Events"].as_mapping() else {
            continue;
        };
        for event in events
            .values()
            .filter(|e| e["Type"].as_str() == Some("SQS"))
        {
            let queue_arn = tagged(&event["Properties"]["Queue"]).expect("queue");
            let queue = &resources(&template)[queue_arn.trim_end_matches(".Arn")]["Properties"];
            let timeout = p["Timeout"].as_u64().expect("timeout");
            let visibility = queue["VisibilityTimeout"].as_u64().expect("visibility");
            assert!(
                visibility >= 6 * timeout,
                "{name}: visibility {visibility} < 6 x {timeout}"
            );
            assert_eq!(
                event["Properties"]["FunctionResponseTypes"][0].as_str(),
                Some("ReportBatchItemFailures"),
                "{name}"
            );
            let dlq = tagged(&queue["RedrivePolicy"]["deadLetterTargetArn"]).expect("dlq");
            let dlq = dlq.trim_end_matches(".Arn");
            assert!(resources(&template).contains_key(dlq), "{name}: {dlq}");
            // An alarm watches the DLQ.
            let watched = resources(&template).values().any(|r| {
                r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")
                    && tagged(&r["Properties"]["Dimensions"][0]["Value"])
                        == Some(&format!("{dlq}.QueueName"))
            });
            assert!(watched, "no alarm on {dlq}");
            checked += 1;
        }
    }
    assert_eq!(checked, 4, "qr, push, sync and export queues");
}

#[test]
fn push_concurrency_and_rate_implement_the_rate_limit_design() {
    let template = template();
    let worker = &resources(&template)["PushWorkerFunction"]["Properties"];
    let scaling = &worker["Events"]["Jobs"]["Properties"]["ScalingConfig"];
    assert_eq!(
        tagged(&scaling["MaximumConcurrency"]),
        Some("PushMaxConcurrency")
    );
    assert_eq!(
        tagged(&worker["Environment"]["Variables"]["PUSH_RATE_PER_SECOND"]),
        Some("PushRatePerSecond")
    );
    // SQS event-source mappings accept a maximum concurrency of 2 or more.
    assert!(template["Parameters"]["PushMaxConcurrency"]["MinValue"].as_u64() >= Some(2));
}

#[test]
fn no_secret_reaches_a_parameter_default_or_the_environment() {
    let template = template();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("read");
    assert!(
        !text.contains("{{resolve:"),
        "dynamic references end up in plain env"
    );
    for (name, parameter) in template["Parameters"].as_mapping().expect("Parameters") {
        let name = name.as_str().expect("name");
        if name.to_lowercase().contains("secret") {
            assert!(parameter.get("Default").is_none(), "{name} has a default");
        }
    }
    let env = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .expect("env");
    for key in ["SECRETS_KEY", "SIGNING_KEY"] {
        assert!(!env.contains_key(key), "{key} in plain env");
    }
    assert_eq!(
        tagged(&env["KEYS_SECRET_ID"]),
        Some("SecretsName"),
        "functions find the keys' secret"
    );
}

#[test]
fn every_function_has_error_and_throttle_alarms() {
    let template = template();
    for (name, _) in functions(&template) {
        for metric in ["Errors", "Throttles"] {
            let found = resources(&template).values().any(|r| {
                let p = &r["Properties"];
                r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")
                    && p["MetricName"].as_str() == Some(metric)
                    && tagged(&p["Dimensions"][0]["Value"]) == Some(name)
            });
            assert!(found, "no {metric} alarm for {name}");
        }
    }
}

/// One grant: an action on a resource, the resource as written after its tag
/// (`Table.Arn` for `!GetAtt Table.Arn`, `${Table.Arn}/index/GSI1` for `!Sub ...`).
type Grant = (String, String);

/// Every (action, resource) pair a role's inline policy allows.
fn role_grants(name: &str, role: &Value) -> std::collections::BTreeSet<Grant> {
    let mut grants = std::collections::BTreeSet::new();
    for policy in role["Properties"]["Policies"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{name}: no inline policies"))
    {
        for s in policy["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: no statements"))
        {
            assert_eq!(s["Effect"].as_str(), Some("Allow"), "{name}: {s:?}");
            assert!(
                s.get("Condition").is_none(),
                "{name}: conditions are not derived"
            );
            let list = |v: &Value| v.as_sequence().cloned().unwrap_or_else(|| vec![v.clone()]);
            for action in list(&s["Action"]) {
                let action = action.as_str().expect("action").to_string();
                for resource in list(&s["Resource"]) {
                    let resource = resource
                        .as_str()
                        .or(tagged(&resource))
                        .unwrap_or_else(|| panic!("{name}: resource {resource:?}"));
                    grants.insert((action.clone(), resource.to_string()));
                }
            }
        }
    }
    grants
}

/// One statement of a derived role: its actions on its resources.
struct Allow {
    actions: Vec<String>,
    resources: Vec<String>,
}

fn allow(actions: &[&str], resources: &[&str]) -> Allow {
    Allow {
        actions: actions.iter().map(|a| a.to_string()).collect(),
        resources: resources.iter().map(|r| r.to_string()).collect(),
    }
}

/// What each function's code calls, from the derivation table above the roles in
/// template.yaml (`iam-table`). Change it together with the code and the role, never alone.
fn derived_grants() -> Vec<(&'static str, Vec<Allow>)> {
    const TABLE: &str = "Table.Arn";
    const GSI1: &str = "${Table.Arn}/index/GSI1";
    const GSI2: &str = "${Table.Arn}/index/GSI2";
    const GSI3: &str = "${Table.Arn}/index/GSI3";
    const QUERY: &[&str] = &["dynamodb:Query"];
    const TRIGGER: &[&str] = &[
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    ];
    const SECRET: &str = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretsName}-??????";
    // Every function writes its own log group and reads the keys' secret at cold start.
    let role = |log_group: &str, rest: Vec<Allow>| {
        let mut all = vec![
            allow(&["logs:CreateLogStream", "logs:PutLogEvents"], &[log_group]),
            allow(&["secretsmanager:GetSecretValue"], &[SECRET]),
        ];
        all.extend(rest);
        all
    };
    vec![
        (
            "WechatCallbackFunction",
            role(
                "WechatCallbackFunctionLogGroup.Arn",
                vec![
                    allow(
                        &[
                            "dynamodb:GetItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:DeleteItem",
                        ],
                        &[TABLE],
                    ),
                    allow(QUERY, &[GSI1, GSI3]),
                ],
            ),
        ),
        (
            "AdminApiFunction",
            role(
                "AdminApiFunctionLogGroup.Arn",
                vec![
                    allow(
                        &[
                            "dynamodb:GetItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:DeleteItem",
                            "dynamodb:BatchWriteItem",
                            "dynamodb:Query",
                            "dynamodb:DescribeTable",
                        ],
                        &[TABLE],
                    ),
                    allow(QUERY, &[GSI1, GSI2, GSI3]),
                    allow(
                        &["sqs:SendMessage"],
                        &[
                            "PushQueue.Arn",
                            "QrQueue.Arn",
                            "SyncQueue.Arn",
                            "ExportQueue.Arn",
                        ],
                    ),
                    allow(
                        &[
                            "sqs:ReceiveMessage",
                            "sqs:DeleteMessage",
                            "sqs:ChangeMessageVisibility",
                        ],
                        &[
                            "PushDeadLetterQueue.Arn",
                            "QrDeadLetterQueue.Arn",
                            "SyncDeadLetterQueue.Arn",
                            "ExportDeadLetterQueue.Arn",
                        ],
                    ),
                    allow(
                        &["s3:GetObject"],
                        &["${Bucket.Arn}/exports/*", "${Bucket.Arn}/qr/*"],
                    ),
                    allow(&["s3:PutObject"], &["${Bucket.Arn}/uploads/openids/*"]),
                ],
            ),
        ),
        (
            "ExportWorkerFunction",
            role(
                "ExportWorkerFunctionLogGroup.Arn",
                vec![
                    allow(
                        &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                        &[TABLE],
                    ),
                    allow(QUERY, &[GSI1, GSI2]),
                    allow(
                        &["s3:PutObject", "s3:AbortMultipartUpload"],
                        &["${Bucket.Arn}/exports/*"],
                    ),
                    allow(TRIGGER, &["ExportQueue.Arn"]),
                ],
            ),
        ),
        (
            "QrGeneratorFunction",
            role(
                "QrGeneratorFunctionLogGroup.Arn",
                vec![
                    allow(&["dynamodb:GetItem", "dynamodb:UpdateItem"], &[TABLE]),
                    allow(QUERY, &[GSI1]),
                    allow(
                        &["s3:PutObject", "s3:DeleteObject"],
                        &["${Bucket.Arn}/qr/*"],
                    ),
                    allow(&["sqs:SendMessage"], &["QrQueue.Arn"]),
                    allow(TRIGGER, &["QrQueue.Arn"]),
                ],
            ),
        ),
        (
            "PushWorkerFunction",
            role(
                "PushWorkerFunctionLogGroup.Arn",
                vec![
                    allow(
                        &[
                            "dynamodb:GetItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:DeleteItem",
                            "dynamodb:BatchGetItem",
                            "dynamodb:Query",
                        ],
                        &[TABLE],
                    ),
                    allow(QUERY, &[GSI1, GSI2]),
                    allow(&["sqs:SendMessage"], &["PushQueue.Arn"]),
                    allow(&["s3:GetObject"], &["${Bucket.Arn}/uploads/openids/*"]),
                    allow(TRIGGER, &["PushQueue.Arn"]),
                ],
            ),
        ),
        (
            "FollowerSyncFunction",
            role(
                "FollowerSyncFunctionLogGroup.Arn",
                vec![
                    allow(
                        &[
                            "dynamodb:GetItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:DeleteItem",
                            "dynamodb:BatchWriteItem",
                            "dynamodb:Query",
                        ],
                        &[TABLE],
                    ),
                    allow(QUERY, &[GSI1]),
                    allow(&["sqs:SendMessage"], &["SyncQueue.Arn"]),
                    allow(
                        &["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                        &["${Bucket.Arn}/sync/*"],
                    ),
                    allow(TRIGGER, &["SyncQueue.Arn"]),
                ],
            ),
        ),
    ]
}

#[test]
fn function_roles_grant_exactly_the_derived_permissions() {
    let template = template();
    let derived = derived_grants();
    let functions = functions(&template);
    let derived_names: std::collections::BTreeSet<&str> =
        derived.iter().map(|(name, _)| *name).collect();
    let function_names: std::collections::BTreeSet<&str> =
        functions.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        derived_names, function_names,
        "every function has a derived grant list"
    );
    for (name, statements) in derived {
        let function = &resources(&template)[name];
        let role = tagged(&function["Properties"]["Role"])
            .unwrap_or_else(|| panic!("{name} has no own Role"))
            .trim_end_matches(".Arn");
        let granted = role_grants(name, &resources(&template)[role]);
        let mut expected = std::collections::BTreeSet::new();
        for statement in statements {
            for action in &statement.actions {
                for resource in &statement.resources {
                    expected.insert((action.clone(), resource.clone()));
                }
            }
        }
        let extra: Vec<_> = granted.difference(&expected).collect();
        let missing: Vec<_> = expected.difference(&granted).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{name} ({role}): granted beyond what its code calls: {extra:?}; \
             called by its code but not granted: {missing:?}"
        );
    }
}

#[test]
fn no_role_grants_a_whole_prefix_or_every_index() {
    let template = template();
    for (name, f) in functions(&template) {
        let role = tagged(&f["Properties"]["Role"])
            .expect("role")
            .trim_end_matches(".Arn");
        for (action, resource) in role_grants(name, &resources(&template)[role]) {
            assert!(
                !resource.ends_with("/index/*"),
                "{name}: {action} on every index ({resource})"
            );
            assert_ne!(
                resource, "${Bucket.Arn}/*",
                "{name}: {action} on the whole bucket"
            );
            if resource.contains("/index/") {
                assert_eq!(action, "dynamodb:Query", "{name}: {action} on {resource}");
            }
        }
    }
}

#[test]
fn vpc_access_grants_network_interfaces_and_nothing_else() {
    let template = template();
    let policy = &resources(&template)["VpcNetworkInterfacesPolicy"];
    assert_eq!(policy["Condition"].as_str(), Some("CreateEgress"));
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .expect("statements");
    let mut actions = Vec::new();
    for s in statements {
        assert_eq!(s["Effect"].as_str(), Some("Allow"));
        for a in s["Action"].as_sequence().expect("actions") {
            actions.push(a.as_str().expect("action").to_string());
        }
    }
    actions.sort();
    assert_eq!(
        actions,
        [
            "ec2:AssignPrivateIpAddresses",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:UnassignPrivateIpAddresses",
        ]
    );
    // Every function's role gets it and no other managed policy (AWS's
    // AWSLambdaVPCAccessExecutionRole also grants logs:* on every log group), and only while
    // the egress VPC exists.
    for (name, f) in functions(&template) {
        let role = tagged(&f["Properties"]["Role"])
            .expect("role")
            .trim_end_matches(".Arn");
        let managed = &resources(&template)[role]["Properties"]["ManagedPolicyArns"];
        let Value::Tagged(condition) = managed else {
            panic!("{name}: ManagedPolicyArns is not conditional: {managed:?}")
        };
        assert_eq!(condition.tag.to_string(), "!If", "{name}");
        let branches = condition.value.as_sequence().expect("!If arguments");
        assert_eq!(branches[0].as_str(), Some("CreateEgress"), "{name}");
        let attached = branches[1].as_sequence().expect("policy list");
        assert_eq!(attached.len(), 1, "{name}: {attached:?}");
        assert_eq!(
            tagged(&attached[0]),
            Some("VpcNetworkInterfacesPolicy"),
            "{name}"
        );
        assert_eq!(tagged(&branches[2]), Some("AWS::NoValue"), "{name}");
    }
}
