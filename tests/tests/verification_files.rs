//! WeChat's domain verification files (issue #21): stored per account through the admin API,
//! served at the domain root exactly as WeChat fetches them.

use livenotify::domain::Role;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{AdminClient, login_as, operator, viewer};
use serde_json::{Value, json};

fn account_body(id: &str) -> Value {
    json!({
        "name": format!("{id} 名称"), "kind": "service", "appid": id,
        "app_secret": "topsecret-app-secret", "callback_token": "tok123",
        "encoding_aes_key": "a".repeat(43), "callback_mode": "safe"
    })
}

async fn setup() -> (TestStack, AdminClient) {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    for id in ["wxverifya", "wxverifyb"] {
        root.post("/api/accounts", account_body(id))
            .await
            .expect(201);
    }
    (stack, root)
}

fn file_path(account: &str) -> String {
    format!("/api/accounts/{account}/verification-file")
}

/// What WeChat's fetch of `/<name>` gets: status, content type, body.
async fn fetch(stack: &TestStack, name: &str) -> (u16, String, String) {
    let answer = stack
        .http
        .get(format!("{}/{name}", stack.url()))
        .send()
        .await
        .expect("fetch");
    let status = answer.status().as_u16();
    let kind = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, kind, answer.text().await.expect("body"))
}

#[tokio::test]
async fn each_accounts_file_is_served_at_the_root_and_nothing_else_is() {
    let (stack, root) = setup().await;
    let set = root
        .put(
            &file_path("wxverifya"),
            json!({"name": "MP_verify_AAA111.txt", "content": " AAA111\n"}),
        )
        .await
        .expect(200);
    assert_eq!(
        set["content"], "AAA111",
        "trimmed: WeChat compares the bytes"
    );
    assert_eq!(
        set["url"],
        format!("{}/MP_verify_AAA111.txt", stack.url()),
        "where WeChat fetches it"
    );
    let (status, kind, body) = fetch(&stack, "MP_verify_AAA111.txt").await;
    assert_eq!((status, body.as_str()), (200, "AAA111"));
    assert!(kind.starts_with("text/plain"), "{kind}");

    // Another account's file is its own; a name one account holds is refused to another.
    root.put(
        &file_path("wxverifyb"),
        json!({"name": "MP_verify_BBB222.txt", "content": "BBB222"}),
    )
    .await
    .expect(200);
    assert_eq!(fetch(&stack, "MP_verify_BBB222.txt").await.2, "BBB222");
    assert_eq!(fetch(&stack, "MP_verify_AAA111.txt").await.2, "AAA111");
    let taken = root
        .put(
            &file_path("wxverifyb"),
            json!({"name": "MP_verify_AAA111.txt", "content": "EVIL"}),
        )
        .await;
    assert_eq!(taken.status, 409, "{:?}", taken.body);
    assert_eq!(fetch(&stack, "MP_verify_AAA111.txt").await.2, "AAA111");
    assert_eq!(
        root.get(&file_path("wxverifyb")).await.expect(200)["name"],
        "MP_verify_BBB222.txt",
        "the refused change left b's file"
    );

    // Unknown names, and anything that is not WeChat's shape, are 404.
    for name in [
        "MP_verify_nope.txt",
        "index.html",
        "MP_verify_AAA111.txt.bak",
        "mp_verify_AAA111.txt",
    ] {
        assert_eq!(fetch(&stack, name).await.0, 404, "{name}");
    }

    // Bad input is a 422 naming the field, and stores nothing.
    let bad = root
        .put(
            &file_path("wxverifya"),
            json!({"name": "../etc/passwd", "content": "a b"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let fields: Vec<&str> = bad.body["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "content"]);
    assert_eq!(
        root.put(
            &file_path("wxnosuch"),
            json!({"name": "MP_verify_X1.txt", "content": "X1"})
        )
        .await
        .status,
        404
    );

    // Replacing frees the old name; deleting stops serving it.
    root.put(
        &file_path("wxverifya"),
        json!({"name": "MP_verify_CCC333.txt", "content": "CCC333"}),
    )
    .await
    .expect(200);
    assert_eq!(fetch(&stack, "MP_verify_AAA111.txt").await.0, 404);
    assert_eq!(fetch(&stack, "MP_verify_CCC333.txt").await.2, "CCC333");
    root.delete(&file_path("wxverifya")).await.expect(204);
    assert_eq!(fetch(&stack, "MP_verify_CCC333.txt").await.0, 404);
    assert_eq!(root.get(&file_path("wxverifya")).await.status, 404);
    assert_eq!(root.delete(&file_path("wxverifya")).await.status, 404);

    // Deleting the account removes its file.
    root.delete("/api/accounts/wxverifyb").await.expect(204);
    assert_eq!(fetch(&stack, "MP_verify_BBB222.txt").await.0, 404);
    stack.shutdown().await;
}

#[tokio::test]
async fn only_super_admins_set_files_and_scoped_admins_read_their_own() {
    let (stack, root) = setup().await;
    for (account, name) in [
        ("wxverifya", "MP_verify_A1.txt"),
        ("wxverifyb", "MP_verify_B1.txt"),
    ] {
        root.put(&file_path(account), json!({"name": name, "content": "C1"}))
            .await
            .expect(200);
    }
    let op = login_as(&stack, "op", operator(&["wxverifya"])).await;
    let view = login_as(&stack, "view", viewer(&["wxverifya"])).await;
    for scoped in [&op, &view] {
        assert_eq!(
            scoped.get(&file_path("wxverifya")).await.expect(200)["name"],
            "MP_verify_A1.txt"
        );
        assert_eq!(scoped.get(&file_path("wxverifyb")).await.status, 404);
        let refused = scoped
            .put(
                &file_path("wxverifya"),
                json!({"name": "MP_verify_Z9.txt", "content": "Z9"}),
            )
            .await;
        assert_eq!(refused.status, 403);
        assert_eq!(scoped.delete(&file_path("wxverifya")).await.status, 403);
    }
    assert_eq!(fetch(&stack, "MP_verify_Z9.txt").await.0, 404);
    assert_eq!(fetch(&stack, "MP_verify_A1.txt").await.2, "C1");
    stack.shutdown().await;
}

#[tokio::test]
async fn two_accounts_racing_for_one_name_get_one_file() {
    let (stack, root) = setup().await;
    for round in 0..5 {
        let name = format!("MP_verify_Race{round}.txt");
        let claim = |account: &'static str, content: &'static str| {
            let root = &root;
            let name = name.clone();
            async move {
                root.put(
                    &file_path(account),
                    json!({"name": name, "content": content}),
                )
                .await
                .status
            }
        };
        let (a, b) = tokio::join!(claim("wxverifya", "FromA"), claim("wxverifyb", "FromB"));
        let mut statuses = [a, b];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}");
        let winner = if a == 200 { "FromA" } else { "FromB" };
        assert_eq!(fetch(&stack, &name).await.2, winner, "round {round}");
        // Free the name for the next round.
        let holder = if a == 200 { "wxverifya" } else { "wxverifyb" };
        root.delete(&file_path(holder)).await.expect(204);
    }
    stack.shutdown().await;
}
