//! The route table: every REST route, its methods, path and Lambda name.

use http::Method;

use super::{errors, handlers, ApiRequest, ApiResponse};
use crate::Ctx;

/// How a route is reached and what its Lambda is called.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// The route.
    pub route: Route,
    /// Methods it answers.
    pub methods: &'static [&'static str],
    /// Path template with `{name}` parameters, as API Gateway and axum write it.
    pub path: &'static str,
    /// The Lambda binary (and SAM function) that serves it.
    pub function: &'static str,
}

/// Declares [`Route`], its [`Route::spec`] (an exhaustive `match`) and
/// [`ROUTES`] from one list, so that a route is written down once.
macro_rules! routes {
    ($($route:ident: [$($method:literal),+] $path:literal => $function:literal,)+) => {
        /// One REST route. Each is served by its own Lambda function.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Route {
            $(
                #[doc = concat!("`", $($method, " ",)+ $path, "` (`", $function, "`)")]
                $route,
            )+
        }

        impl Route {
            /// How this route is reached and which function serves it.
            pub const fn spec(self) -> &'static RouteSpec {
                match self {
                    $(Route::$route => &RouteSpec {
                        route: Route::$route,
                        methods: &[$($method),+],
                        path: $path,
                        function: $function,
                    },)+
                }
            }
        }

        /// Every REST route.
        pub const ROUTES: &[RouteSpec] = &[$(*Route::$route.spec(),)+];
    };
}

routes! {
    Register: ["POST"] "/api/users/register/" => "register",
    VerifyEmail: ["POST"] "/api/users/verify-email/" => "verify-email",
    ResendOtp: ["POST"] "/api/users/resend-otp/" => "resend-otp",
    Token: ["POST"] "/api/users/token/" => "token",
    TokenRefresh: ["POST"] "/api/users/token/refresh/" => "token-refresh",
    Logout: ["POST"] "/api/users/logout/" => "logout",
    PasswordReset: ["POST"] "/api/users/password-reset/" => "password-reset",
    PasswordResetConfirm: ["POST"] "/api/users/password-reset/confirm/" => "password-reset-confirm",
    ProfileGet: ["GET"] "/api/users/profile/" => "profile-get",
    ProfileUpdate: ["PUT", "PATCH"] "/api/users/profile/" => "profile-update",
    UserLookup: ["GET"] "/api/users/lookup/" => "user-lookup",
    BlocksList: ["GET"] "/api/users/blocks/" => "blocks-list",
    BlockAdd: ["POST"] "/api/users/blocks/" => "block-add",
    BlockRemove: ["DELETE"] "/api/users/blocks/{user_id}/" => "block-remove",
    RoomsList: ["GET"] "/api/chat/rooms/" => "rooms-list",
    RoomsCreate: ["POST"] "/api/chat/rooms/" => "rooms-create",
    RoomGet: ["GET"] "/api/chat/rooms/{id}/" => "room-get",
    MessagesList: ["GET"] "/api/chat/rooms/{id}/messages/" => "messages-list",
    MessagesSend: ["POST"] "/api/chat/rooms/{id}/messages/" => "messages-send",
    MessageEdit: ["PATCH"] "/api/chat/rooms/{id}/messages/{message_id}/" => "message-edit",
    MessageDelete: ["DELETE"] "/api/chat/rooms/{id}/messages/{message_id}/" => "message-delete",
    AttachmentCreate: ["POST"] "/api/chat/rooms/{id}/attachments/" => "attachment-create",
    AttachmentGet: ["GET"] "/api/chat/rooms/{id}/messages/{message_id}/attachments/{attachment_id}/" => "attachment-get",
    ReactionAdd: ["POST"] "/api/chat/rooms/{id}/messages/{message_id}/reactions/" => "reaction-add",
    ReactionRemove: ["DELETE"] "/api/chat/rooms/{id}/messages/{message_id}/reactions/" => "reaction-remove",
    MembersList: ["GET"] "/api/chat/rooms/{id}/members/" => "members-list",
    MembersAdd: ["POST"] "/api/chat/rooms/{id}/members/" => "members-add",
    MemberUpdate: ["PATCH"] "/api/chat/rooms/{id}/members/{user_id}/" => "member-update",
    MemberRemove: ["DELETE"] "/api/chat/rooms/{id}/members/{user_id}/" => "member-remove",
    RoomLeave: ["POST"] "/api/chat/rooms/{id}/leave/" => "room-leave",
    RoomRead: ["POST"] "/api/chat/rooms/{id}/read/" => "room-read",
    RoomMute: ["PUT"] "/api/chat/rooms/{id}/mute/" => "room-mute",
    DirectChat: ["POST"] "/api/chat/direct-chat/{user_id}/" => "direct-chat",
}

/// Serves one request on `route`. Never fails: every error becomes its JSON answer.
pub async fn handle(ctx: &Ctx, route: Route, req: ApiRequest) -> ApiResponse {
    let spec = route.spec();
    if !spec.methods.contains(&req.method.as_str()) {
        return errors::method_not_allowed(req.method.as_str());
    }
    let result = match route {
        Route::Register => handlers::auth::register(ctx, &req).await,
        Route::VerifyEmail => handlers::auth::verify_email(ctx, &req).await,
        Route::ResendOtp => handlers::auth::resend_otp(ctx, &req).await,
        Route::Token => handlers::auth::token(ctx, &req).await,
        Route::TokenRefresh => handlers::auth::token_refresh(ctx, &req).await,
        Route::Logout => handlers::auth::logout(ctx, &req).await,
        Route::PasswordReset => handlers::auth::password_reset(ctx, &req).await,
        Route::PasswordResetConfirm => handlers::auth::password_reset_confirm(ctx, &req).await,
        Route::ProfileGet => handlers::profile::profile_get(ctx, &req).await,
        Route::ProfileUpdate => handlers::profile::profile_update(ctx, &req).await,
        Route::UserLookup => handlers::profile::user_lookup(ctx, &req).await,
        Route::BlocksList => handlers::blocks::blocks_list(ctx, &req).await,
        Route::BlockAdd => handlers::blocks::block_add(ctx, &req).await,
        Route::BlockRemove => handlers::blocks::block_remove(ctx, &req).await,
        Route::RoomsList => handlers::rooms::rooms_list(ctx, &req).await,
        Route::RoomsCreate => handlers::rooms::rooms_create(ctx, &req).await,
        Route::RoomGet => handlers::rooms::room_get(ctx, &req).await,
        Route::MessagesList => handlers::messages::messages_list(ctx, &req).await,
        Route::MessagesSend => handlers::messages::messages_send(ctx, &req).await,
        Route::MessageEdit => handlers::messages::message_edit(ctx, &req).await,
        Route::MessageDelete => handlers::messages::message_delete(ctx, &req).await,
        Route::AttachmentCreate => handlers::messages::attachment_create(ctx, &req).await,
        Route::AttachmentGet => handlers::messages::attachment_get(ctx, &req).await,
        Route::ReactionAdd => handlers::messages::reaction_add(ctx, &req).await,
        Route::ReactionRemove => handlers::messages::reaction_remove(ctx, &req).await,
        Route::MembersList => handlers::members::members_list(ctx, &req).await,
        Route::MembersAdd => handlers::members::members_add(ctx, &req).await,
        Route::MemberUpdate => handlers::members::member_update(ctx, &req).await,
        Route::MemberRemove => handlers::members::member_remove(ctx, &req).await,
        Route::RoomLeave => handlers::members::room_leave(ctx, &req).await,
        Route::RoomRead => handlers::messages::room_read(ctx, &req).await,
        Route::RoomMute => handlers::rooms::room_mute(ctx, &req).await,
        Route::DirectChat => handlers::rooms::direct_chat(ctx, &req).await,
    };
    result.unwrap_or_else(errors::to_response)
}

/// The method as `http` spells it, for adapters that build routers.
pub fn parse_method(raw: &str) -> Option<Method> {
    Method::from_bytes(raw.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_route_has_one_unique_function_and_path_method() {
        let functions: HashSet<_> = ROUTES.iter().map(|s| s.function).collect();
        assert_eq!(functions.len(), ROUTES.len());
        let mut seen = HashSet::new();
        for spec in ROUTES {
            assert_eq!(spec.route.spec().function, spec.function);
            assert!(spec.path.starts_with("/api/") && spec.path.ends_with('/'));
            for method in spec.methods {
                assert!(parse_method(method).is_some());
                assert!(
                    seen.insert((spec.path, *method)),
                    "{method} {} twice",
                    spec.path
                );
            }
        }
    }
}
