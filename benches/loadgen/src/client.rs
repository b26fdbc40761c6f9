//! The public API as the load generator uses it.

use serde_json::{json, Value};

use crate::gateway::Gateway;

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub access: String,
    pub refresh: String,
}

async fn post(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Result<Value, String> {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{status}: {body}"))
    }
}

/// Registers, verifies with the code the gateway printed, and logs in.
pub async fn sign_up(http: &reqwest::Client, gw: &Gateway, name: &str) -> Result<User, String> {
    let base = &gw.base;
    let email = format!("{name}@load.test");
    let password = "load test password";
    post(
        http,
        format!("{base}/api/users/register/"),
        None,
        json!({"username": name, "email": email, "password": password}),
    )
    .await?;
    let code = gw.code_for(&email).await?;
    post(
        http,
        format!("{base}/api/users/verify-email/"),
        None,
        json!({"email": email, "otp": code}),
    )
    .await?;
    let tokens = post(
        http,
        format!("{base}/api/users/token/"),
        None,
        json!({"email": email, "password": password}),
    )
    .await?;
    let access = tokens["access"]
        .as_str()
        .ok_or("no access token")?
        .to_owned();
    let me: Value = http
        .get(format!("{base}/api/users/profile/"))
        .bearer_auth(&access)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    Ok(User {
        id: me["id"].as_str().ok_or("no id")?.to_owned(),
        access,
        refresh: tokens["refresh"]
            .as_str()
            .ok_or("no refresh token")?
            .to_owned(),
    })
}

/// Creates a group room of `owner` with `members`; returns its id.
pub async fn room(
    http: &reqwest::Client,
    base: &str,
    owner: &User,
    name: &str,
    members: &[&User],
) -> Result<String, String> {
    let ids: Vec<&str> = members
        .iter()
        .map(|m| m.id.as_str())
        .filter(|id| *id != owner.id)
        .collect();
    let room = post(
        http,
        format!("{base}/api/chat/rooms/"),
        Some(&owner.access),
        json!({"name": name, "type": "group", "members": ids}),
    )
    .await?;
    Ok(room["id"].as_str().ok_or("no room id")?.to_owned())
}

/// Signs up `n` users, a few at a time.
pub async fn sign_up_many(
    http: &reqwest::Client,
    gw: &Gateway,
    prefix: &str,
    n: usize,
) -> Result<Vec<User>, String> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    stream::iter(0..n)
        .map(|i| async move { sign_up(http, gw, &format!("{prefix}{i}")).await })
        .buffered(8)
        .try_collect()
        .await
}
