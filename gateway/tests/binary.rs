//! The README's run command: the `local-gateway` binary starts, serves the
//! API with the embedded adapters, prints the OTP mail, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn the_binary_serves_the_api_and_shuts_down_gracefully() -> TestResult {
    let mut child = Command::new(env!("CARGO_BIN_EXE_local-gateway"))
        .env("PORT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let banner = lines.next().ok_or("no banner")??;
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .ok_or(format!("unexpected banner {banner:?}"))?
        .to_owned();

    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/api/users/register/"))
        .json(&serde_json::json!({
            "username": "alice", "email": "alice@example.com", "password": "correct horse battery"
        }))
        .send()
        .await?;
    assert_eq!(response.status(), 201);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    assert!(status.success());
    let mut waited = 0;
    let exit = loop {
        if let Some(exit) = child.try_wait()? {
            break exit;
        }
        waited += 1;
        assert!(waited < 100, "did not stop within 10 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "exit status {exit}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .ok_or("stderr")?
        .read_to_string(&mut stderr)?;
    assert!(
        stderr.contains("mail to alice@example.com") && stderr.contains("verification code"),
        "the OTP mail is printed to the console: {stderr}"
    );
    Ok(())
}
