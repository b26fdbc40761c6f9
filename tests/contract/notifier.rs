//! Pushing frames: the API Gateway notifier (AWS SDK) against the local
//! gateway's `@connections` API, and the embedded channel notifier, on the
//! same cases.

use std::sync::Arc;

use chat_aws::notifier::ApiGatewayNotifier;
use chat_aws::setup::emulator_sdk_config;
use chat_core::adapters::{ChannelNotifier, QueueLimits, SocketCommand};
use chat_core::ports::{Delivery, Notifier};

async fn delivers_and_reports_gone(notifier: &dyn Notifier, sockets: &ChannelNotifier) {
    let mut socket = sockets.register("L0SM9cOFvHcCIhw=");
    let outcome = notifier
        .post("L0SM9cOFvHcCIhw=", br#"{"type":"pong"}"#)
        .await
        .expect("post");
    assert_eq!(outcome, Delivery::Delivered);
    assert_eq!(
        socket.recv().await,
        Some(SocketCommand::Send(r#"{"type":"pong"}"#.into()))
    );
    sockets.unregister("L0SM9cOFvHcCIhw=");
    let outcome = notifier
        .post("L0SM9cOFvHcCIhw=", b"{}")
        .await
        .expect("post");
    assert_eq!(outcome, Delivery::Gone);
    let outcome = notifier.post("never-was", b"{}").await.expect("post");
    assert_eq!(outcome, Delivery::Gone);

    // A socket whose client does not read is given up once its queue is
    // full, and stays gone.
    let _slow = sockets.register("c2xvdyByZWFkZXI=");
    for _ in 0..LIMITS.frames {
        let outcome = notifier
            .post("c2xvdyByZWFkZXI=", b"{}")
            .await
            .expect("post");
        assert_eq!(outcome, Delivery::Delivered);
    }
    for _ in 0..2 {
        let outcome = notifier
            .post("c2xvdyByZWFkZXI=", b"{}")
            .await
            .expect("post");
        assert_eq!(outcome, Delivery::Gone);
    }
}

/// Small, so that a test fills a queue at once.
const LIMITS: QueueLimits = QueueLimits {
    frames: 4,
    bytes: 1024,
};

#[tokio::test]
async fn embedded_notifier() {
    let sockets = ChannelNotifier::new(LIMITS);
    delivers_and_reports_gone(&sockets, &sockets).await;
}

#[tokio::test]
async fn api_gateway_notifier_against_the_local_management_api() {
    let sockets = Arc::new(ChannelNotifier::new(LIMITS));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    // As on AWS, the endpoint carries the stage: https://{api}.execute-api.{region}.amazonaws.com/{stage}
    let endpoint = format!("http://{}/prod", listener.local_addr().expect("addr"));
    let router = local_gateway::management::router(local_gateway::Sockets::local(sockets.clone()));
    tokio::spawn(local_gateway::serve(
        listener,
        router,
        std::future::pending(),
    ));
    let sdk = emulator_sdk_config(&endpoint);
    let client = aws_sdk_apigatewaymanagement::Client::new(&sdk);
    let notifier = ApiGatewayNotifier::new(client);
    delivers_and_reports_gone(&notifier, &sockets).await;
}
