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
