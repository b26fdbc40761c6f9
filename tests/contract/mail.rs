//! OTP mail: sent through SES, readable back from the emulator, holding the
//! code that verifies; the same flow on the embedded mailer.

use std::sync::Arc;

use chat_core::adapters::RecordingMailer;
use chat_core::domain::{Email, Password, Username};
use chat_core::usecases::auth;

use crate::support::{dynamodb, embedded};

fn registration(name: &str) -> auth::Registration {
    auth::Registration {
        username: Username::parse(name).expect("name"),
        email: Email::parse(&format!("{name}@example.com")).expect("email"),
        password: Password::parse_new("correct horse battery", None, None).expect("password"),
    }
}

fn code_in(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .map(str::to_owned)
}

#[tokio::test]
async fn ses_mail_holds_the_code_that_verifies() {
    let (ctx, resources) = dynamodb().await;
    // The emulator keeps every test's mail: a name of its own tells ours apart.
    let name = chat_tests::unique("alice");
    let address = format!("{name}@example.com");
    auth::register(&ctx, registration(&name), "test")
        .await
        .expect("register");
    let mails = chat_tests::sent_mail(&resources.endpoint, &address).await;
    assert_eq!(mails.len(), 1, "one mail");
    let mail = &mails[0];
    assert_eq!(mail.to, vec![address.clone()]);
    let code = code_in(&mail.subject).expect("code in subject");
    assert!(mail.body.contains(&code), "the body holds the code too");
    let email = Email::parse(&address).expect("email");
    auth::verify_email(&ctx, &email, &code)
        .await
        .expect("the mailed code verifies");
    let user = ctx
        .users
        .user_by_email(&email)
        .await
        .expect("read")
        .expect("user");
    assert!(user.email_verified);
}

#[tokio::test]
async fn recorded_mail_holds_the_code_that_verifies() {
    let mut ctx = embedded();
    let mailer = Arc::new(RecordingMailer::default());
    ctx.mailer = mailer.clone();
    auth::register(&ctx, registration("bob"), "test")
        .await
        .expect("register");
    let mails = mailer.sent_to("bob@example.com");
    assert_eq!(mails.len(), 1);
    let code = code_in(&mails[0].subject).expect("code");
    assert!(mails[0].text.contains(&code) && mails[0].html.contains(&code));
    let email = Email::parse("bob@example.com").expect("email");
    auth::verify_email(&ctx, &email, &code)
        .await
        .expect("verifies");
}
