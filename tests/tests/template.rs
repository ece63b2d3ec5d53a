//! template.yaml and the table schema source (shared/src/store/table.json) must agree.

use serde_yaml::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("read template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml is YAML")
}

#[test]
fn template_table_equals_the_schema_source() {
    let template = template();
    let properties = &template["Resources"]["Table"]["Properties"];
    assert!(
        properties.is_mapping(),
        "template.yaml has no Resources.Table.Properties"
    );
    let schema: serde_json::Value =
        serde_json::from_str(livenotify::store::schema::TABLE_JSON).expect("schema JSON");
    let schema = schema.as_object().expect("schema is an object");
    for (key, expected) in schema {
        let actual = &properties[key.as_str()];
        let actual: serde_json::Value =
            serde_json::to_value(actual).expect("template value as JSON");
        assert_eq!(
            &actual, expected,
            "template.yaml Table.{key} differs from table.json"
        );
    }
}

#[test]
fn template_declares_every_function_with_its_binary() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let binaries: Vec<&str> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .filter_map(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str())
        .collect();
    for name in livenotify::function::FUNCTION_NAMES {
        assert!(
            binaries.contains(&name),
            "template.yaml does not build {name}"
        );
    }
}

#[test]
fn nightly_sync_runs_at_one_in_china_time() {
    let template = template();
    let schedule = &template["Resources"]["NightlySync"]["Properties"];
    assert_eq!(
        schedule["ScheduleExpression"].as_str(),
        Some("cron(0 1 * * ? *)")
    );
    assert_eq!(
        schedule["ScheduleExpressionTimezone"].as_str(),
        Some("Asia/Shanghai")
    );
    let input: livenotify::jobs::SyncJob =
        serde_json::from_str(schedule["Target"]["Input"].as_str().expect("Input"))
            .expect("Input is a SyncJob");
    assert!(matches!(
        input,
        livenotify::jobs::SyncJob::AllAccounts { .. }
    ));
}
