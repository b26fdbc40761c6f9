//! Registration, verification, login and tokens: the security promises.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{spawn_app, TestResult, PASSWORD};

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let refresh = |token: String| {
        let app = &app;
        async move { app.refresh(token).await }
    };
    let (status, second) = refresh(alice.refresh.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let second_refresh = second["refresh"].as_str().ok_or("refresh")?.to_owned();
    assert_ne!(
        second_refresh, alice.refresh,
        "a new refresh token every time"
    );
    let (status, _) = app
        .get(
            "/api/users/profile/",
            second["access"].as_str().ok_or("access")?,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The first token is dead; presenting it again (past the few seconds in
    // which two tabs of one client may both use it) also kills its successor.
    app.clock.advance_secs(11);
    let (status, body) = refresh(alice.refresh.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token_not_valid");
    let (status, _) = refresh(second_refresh).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "family revoked after reuse"
    );

    // A fresh login starts a new family that works.
    let (_, tokens) = app.login(&alice.email, PASSWORD).await;
    let (status, _) = refresh(tokens["refresh"].as_str().ok_or("refresh")?.to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token_and_vice_versa() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (status, _) = app.refresh(alice.access.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/api/users/profile/", &alice.refresh).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn logout_kills_the_refresh_token() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (status, _) = app
        .post(
            "/api/users/logout/",
            None,
            json!({ "refresh": alice.refresh }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.refresh(alice.refresh.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn access_tokens_expire_after_an_hour() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    app.clock.advance_secs(3599);
    let (status, _) = app.get("/api/users/profile/", &alice.access).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance_secs(1);
    let (status, body) = app.get("/api/users/profile/", &alice.access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token_not_valid");
    // The refresh token still gives a working pair.
    let (status, pair) = app.refresh(alice.refresh.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .get(
            "/api/users/profile/",
            pair["access"].as_str().ok_or("access")?,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn missing_and_malformed_credentials_are_refused() -> TestResult {
    let app = spawn_app().await;
    let (status, body) = app
        .call(reqwest::Method::GET, "/api/chat/rooms/", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "not_authenticated");
    let response = app
        .client
        .get(app.url("/api/chat/rooms/"))
        .header("authorization", "Token abc")
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    let (status, _) = app.get("/api/chat/rooms/", "not-a-jwt").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn the_sixth_try_fails_even_with_the_right_code() -> TestResult {
    let app = spawn_app().await;
    app.register("alice", "alice@example.com", PASSWORD).await;
    let otp = app.last_otp("alice@example.com").ok_or("otp")?;
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (status, body) = app.verify("alice@example.com", wrong).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["otp"][0], "Invalid or expired code.");
    }
    let (status, _) = app.verify("alice@example.com", &otp).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "code is dead after 5 wrong tries"
    );
    let (status, _) = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A new code (after the resend interval) works.
    app.clock.advance_secs(61);
    let (status, _) = app
        .post(
            "/api/users/resend-otp/",
            None,
            json!({ "email": "alice@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = app.last_otp("alice@example.com").ok_or("otp")?;
    let (status, _) = app.verify("alice@example.com", &fresh).await;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn concurrent_guesses_cannot_exceed_the_attempt_limit() -> TestResult {
    let app = spawn_app().await;
    app.register("alice", "alice@example.com", PASSWORD).await;
    let otp = app.last_otp("alice@example.com").ok_or("otp")?;
    let guesses: Vec<String> = (0..50)
        .map(|i| format!("{:06}", i))
        .filter(|g| *g != otp)
        .take(40)
        .collect();
    let results =
        futures_util::future::join_all(guesses.iter().map(|g| app.verify("alice@example.com", g)))
            .await;
    assert!(results.iter().all(|(s, _)| *s == StatusCode::BAD_REQUEST));
    let (status, _) = app.verify("alice@example.com", &otp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn an_expired_code_fails() -> TestResult {
    let app = spawn_app().await;
    app.register("alice", "alice@example.com", PASSWORD).await;
    let otp = app.last_otp("alice@example.com").ok_or("otp")?;
    app.clock.advance_secs(600);
    let (status, body) = app.verify("alice@example.com", &otp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["otp"][0], "Invalid or expired code.");
    Ok(())
}

#[tokio::test]
async fn a_code_works_just_before_it_expires_and_only_once() -> TestResult {
    let app = spawn_app().await;
    app.register("alice", "alice@example.com", PASSWORD).await;
    let otp = app.last_otp("alice@example.com").ok_or("otp")?;
    app.clock.advance_secs(599);
    let (status, _) = app.verify("alice@example.com", &otp).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.verify("alice@example.com", &otp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn register_resend_and_login_do_not_reveal_who_is_registered() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;

    // Register with a taken address: same status and body as a new one, no account made.
    let (new_status, new_body) = app.register("carol", "carol@example.com", PASSWORD).await;
    let (taken_status, taken_body) = app.register("mallory", &alice.email, PASSWORD).await;
    assert_eq!(new_status, taken_status);
    assert_eq!(
        new_body["detail"], taken_body["detail"],
        "same message whether or not the address is taken"
    );
    let (status, _) = app.login(&alice.email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "the original account is untouched");

    // Resend: same answer for unknown, unverified and verified addresses.
    let mut answers = Vec::new();
    for email in [
        "nobody@example.com",
        "carol@example.com",
        alice.email.as_str(),
    ] {
        app.clock.advance_secs(61);
        answers.push(
            app.post("/api/users/resend-otp/", None, json!({ "email": email }))
                .await,
        );
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");

    // Login: unknown address and wrong password look the same.
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    let wrong = app.login(&alice.email, "wrong password!").await;
    assert_eq!(unknown, wrong);
    assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_address_make_one_account() -> TestResult {
    let app = spawn_app().await;
    let results = futures_util::future::join_all((0..20).map(|i| {
        let app = &app;
        async move {
            app.register(&format!("user{i}"), "same@example.com", PASSWORD)
                .await
        }
    }))
    .await;
    assert!(results.iter().all(|(s, _)| *s == StatusCode::CREATED));
    let otp = app.last_otp("same@example.com").ok_or("otp")?;
    let (status, _) = app.verify("same@example.com", &otp).await;
    assert_eq!(status, StatusCode::OK);
    let (_, tokens) = app.login("same@example.com", PASSWORD).await;
    let (_, me) = app
        .get(
            "/api/users/profile/",
            tokens["access"].as_str().ok_or("access")?,
        )
        .await;
    let username = me["username"].as_str().ok_or("username")?;
    // Exactly one of the twenty usernames exists.
    let mut taken = 0;
    for i in 0..20 {
        let (status, _) = app
            .register(
                &format!("user{i}"),
                &format!("probe{i}@example.com"),
                PASSWORD,
            )
            .await;
        if status == StatusCode::BAD_REQUEST {
            taken += 1;
            assert_eq!(format!("user{i}"), username);
        }
    }
    assert_eq!(taken, 1);
    Ok(())
}

/// Starts the test clock just after an hour begins, so that the minutes a
/// test advances stay inside one hour window whatever the time of day.
fn start_of_an_hour(app: &crate::support::TestApp) {
    let now = chat_core::ports::Clock::now(app.clock.as_ref()).secs();
    app.clock.advance_secs(3600 - now.rem_euclid(3600) + 1);
}

#[tokio::test]
async fn code_requests_are_limited_per_address_and_client_and_always_answer_the_same() -> TestResult
{
    let app = spawn_app().await;
    start_of_an_hour(&app);
    app.register("alice", "alice@example.com", PASSWORD).await;
    let resend = |email: &'static str| {
        let app = &app;
        async move {
            app.post("/api/users/resend-otp/", None, json!({ "email": email }))
                .await
        }
    };
    // Within the minute: the same answer, no second code.
    let (status, body) = resend("alice@example.com").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.mailer.sent_to("alice@example.com").len(), 1);
    // Another address is not affected, registered or not.
    let (status, _) = resend("other@example.com").await;
    assert_eq!(status, StatusCode::OK);
    // After the interval, a new code; at most five per hour for this client.
    for _ in 0..5 {
        app.clock.advance_secs(61);
        let (status, _) = resend("alice@example.com").await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(
        app.mailer.sent_to("alice@example.com").len(),
        5,
        "hourly limit"
    );
    Ok(())
}

/// A stranger asking for codes for someone's address, from other machines,
/// neither floods the inbox beyond the address's hourly cap nor keeps the
/// owner from getting the code they ask for.
#[tokio::test]
async fn a_strangers_code_requests_do_not_keep_the_owner_from_their_code() -> TestResult {
    let app = spawn_app().await;
    start_of_an_hour(&app);
    for (i, host) in [
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
    ]
    .iter()
    .enumerate()
    {
        let stranger = crate::support::client_from(host);
        for _ in 0..6 {
            app.clock.advance_secs(61);
            let (status, _) = app
                .call_from(
                    &stranger,
                    reqwest::Method::POST,
                    "/api/users/register/",
                    None,
                    Some(json!({
                        "username": format!("squatter{i}"),
                        "email": "owner@example.com",
                        "password": PASSWORD,
                    })),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
    }
    let flood = app.mailer.sent_to("owner@example.com").len();
    // Five per client, 20 for the address in all, and each client's first
    // code goes out whatever the others did: the fifth stranger's.
    assert_eq!(flood, 21, "the address's hourly cap holds across clients");
    // The owner, from their own machine, still gets a code at once.
    let (status, _) = app
        .post(
            "/api/users/resend-otp/",
            None,
            json!({ "email": "owner@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.mailer.sent_to("owner@example.com").len(), flood + 1);
    Ok(())
}

#[tokio::test]
async fn a_client_that_keeps_failing_is_throttled_even_with_the_right_password() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(app.login(&alice.email, "wrong password!").await.0);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let (status, _) = app.login(&alice.email, PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    app.clock.advance_secs(15 * 60);
    let (status, _) = app.login(&alice.email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

/// Failed logins count per client: a stranger failing for someone's
/// address is throttled, the owner on their own machine is not; and
/// successful logins never count.
#[tokio::test]
async fn strangers_cannot_lock_an_owner_out_and_successes_never_count() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let stranger = crate::support::client_from("127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, _) = app
            .call_from(
                &stranger,
                reqwest::Method::POST,
                "/api/users/token/",
                None,
                Some(json!({ "email": alice.email, "password": "wrong password!" })),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
    for _ in 0..15 {
        let (status, _) = app.login(&alice.email, PASSWORD).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the owner's client is not the one failing"
        );
    }
    Ok(())
}

#[tokio::test]
async fn otp_mail_has_text_and_html_parts_with_the_code() -> TestResult {
    let app = spawn_app().await;
    app.register("alice", "alice@example.com", PASSWORD).await;
    let mail = app
        .mailer
        .sent_to("alice@example.com")
        .pop()
        .ok_or("mail")?;
    let otp = app.last_otp("alice@example.com").ok_or("otp")?;
    assert!(mail.text.contains(&otp) && mail.html.contains(&otp));
    assert!(mail.subject.contains(&otp));
    Ok(())
}

/// Account pre-hijacking: a stranger registers someone's address first.
/// The owner registers later with their own username and password, gets
/// the same answer as for a new address, and entering the code from their
/// inbox makes the account theirs: their password works, the stranger's
/// does not. The stranger asking for the code again in between does not
/// swap whose credentials it carries.
#[tokio::test]
async fn whoever_reads_the_inbox_owns_an_unverified_account() -> TestResult {
    let app = spawn_app().await;
    let stranger = crate::support::client_from("127.0.0.2");
    let register = |username: &str, password: &str| json!({ "username": username, "email": "owner@example.com", "password": password });
    let (status, first) = app
        .call_from(
            &stranger,
            reqwest::Method::POST,
            "/api/users/register/",
            None,
            Some(register("squatter", "the stranger's password")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, second) = app
        .post(
            "/api/users/register/",
            None,
            register("rightful", "the owner's own password"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first, second, "the same answer as for a new address");
    app.clock.advance_secs(61);
    let (status, _) = app
        .call_from(
            &stranger,
            reqwest::Method::POST,
            "/api/users/resend-otp/",
            None,
            Some(json!({ "email": "owner@example.com" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let mails = app.mailer.sent_to("owner@example.com");
    assert_eq!(mails.len(), 3);
    let latest = mails.last().map(|m| m.text.clone()).unwrap_or_default();
    assert!(latest.contains("Hello rightful"), "{latest}");
    let code = app.last_otp("owner@example.com").ok_or("code")?;
    let (status, _) = app.verify("owner@example.com", &code).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = app
        .login("owner@example.com", "the stranger's password")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, tokens) = app
        .login("owner@example.com", "the owner's own password")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = app
        .get(
            "/api/users/profile/",
            tokens["access"].as_str().ok_or("access")?,
        )
        .await;
    assert_eq!(me["username"], "rightful");
    Ok(())
}

/// Password reset by e-mail code: the same answer for any address, the
/// code sets a new password and ends every session of the account (its
/// refresh token is refused, its open socket is closed, a socket with an
/// access token from before is refused), the old password stops working.
#[tokio::test]
async fn a_password_reset_ends_every_session() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mut socket = app.ws_user(&alice).await;
    // Past the minute of the sign-up's code (one code per minute).
    app.clock.advance_secs(61);

    let (status, known) = app
        .post(
            "/api/users/password-reset/",
            None,
            json!({ "email": alice.email }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, unknown) = app
        .post(
            "/api/users/password-reset/",
            None,
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!((status, &unknown), (StatusCode::OK, &known));
    let mail = app.mailer.sent_to(&alice.email).pop().ok_or("mail")?;
    assert!(
        mail.subject.contains("password reset code"),
        "{}",
        mail.subject
    );
    let code = app.last_otp(&alice.email).ok_or("code")?;

    let confirm = |otp: &str, password: &str| json!({ "email": alice.email, "otp": otp, "new_password": password });
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = app
        .post(
            "/api/users/password-reset/confirm/",
            None,
            confirm(wrong, "a brand new passphrase"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["otp"].is_array(), "{body}");
    let (status, body) = app
        .post(
            "/api/users/password-reset/confirm/",
            None,
            confirm(&code, "12345678"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["new_password"].is_array(), "{body}");
    let (status, body) = app
        .post(
            "/api/users/password-reset/confirm/",
            None,
            confirm(&code, "a brand new passphrase"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert!(
        socket.next_within(Duration::from_secs(5)).await.is_none(),
        "the open socket is closed"
    );
    let (status, _) = app.refresh(alice.refresh.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old session is over");
    assert_eq!(
        app.ws(&format!("/ws/?token={}", alice.access)).await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "no new socket with a token from before"
    );
    let (status, _) = app.login(&alice.email, PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password");
    let (status, tokens) = app.login(&alice.email, "a brand new passphrase").await;
    assert_eq!(status, StatusCode::OK);
    let fresh = tokens["access"].as_str().ok_or("access")?;
    assert!(app.ws(&format!("/ws/?token={fresh}")).await.is_ok());
    let (status, _) = app
        .post(
            "/api/users/password-reset/confirm/",
            None,
            confirm(&code, "another new passphrase"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a code works once");
    Ok(())
}

/// A fullwidth lookalike of a taken username is the same username, and a
/// name hiding a direction override is refused.
#[tokio::test]
async fn lookalike_and_hidden_character_names_are_refused() -> TestResult {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (status, body) = app
        .register("ａｌｉｃｅ", "lookalike@example.com", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["username"].is_array(), "{body}");
    let (status, body) = app
        .post(
            "/api/chat/rooms/",
            Some(&alice.access),
            json!({ "name": "Team\u{202E}nimda", "type": "group", "members": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["name"].is_array(), "{body}");
    Ok(())
}
