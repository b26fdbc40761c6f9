//! What each route takes and answers, for the document. The `match` in
//! [`doc`] is exhaustive, so a new route does not compile until it is described.

use std::collections::BTreeSet;

use utoipa::openapi::path::{Operation, OperationBuilder, Parameter};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{
    ComponentsBuilder, Content, HeaderBuilder, Ref, RefOr, Required, ResponseBuilder, Responses,
    Schema,
};
use utoipa::{IntoParams, ToSchema};

use super::reference;
use super::schemas::FieldErrors;
use crate::http::errors::ErrorBody;
use crate::http::handlers::auth::{
    PasswordResetConfirmRequest, PasswordResetRequest, RefreshRequest, RegisterRequest,
    ResendOtpRequest, TokenRequest, VerifyEmailRequest,
};
use crate::http::handlers::blocks::BlockRequest;
use crate::http::handlers::members::{AddMemberRequest, UpdateMemberRequest};
use crate::http::handlers::messages::{
    EditMessageRequest, HistoryQuery, ReactionQuery, ReactionRequest, ReadRequest,
    SendMessageRequest, UploadRequest,
};
use crate::http::handlers::profile::{LookupQuery, ProfileUpdateRequest};
use crate::http::handlers::rooms::{CreateRoomRequest, MuteRequest};
use crate::http::views::{
    AttachmentDownload, BlockedUser, Detail, Member, Message, OwnProfile, Page, Registered, Room,
    RoomDetail, Sender, Tokens, UnreadCount, UploadSlotView,
};
use crate::http::Route;

const JSON: &str = "application/json";
const MULTIPART: &str = "multipart/form-data";

/// The component schemas and error responses the operations refer to.
#[derive(Default)]
pub(super) struct Components {
    schemas: Vec<(String, RefOr<Schema>)>,
    failures: BTreeSet<Failure>,
}

impl Components {
    /// A `$ref` to `T`, registering `T` and every schema it refers to.
    fn schema<T: ToSchema>(&mut self) -> RefOr<Schema> {
        self.schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(&mut self.schemas);
        reference::<T>()
    }

    /// A list of `T`.
    fn array<T: ToSchema>(&mut self) -> RefOr<Schema> {
        Schema::Array(ArrayBuilder::new().items(self.schema::<T>()).build()).into()
    }

    /// `builder` with every schema and error response referred to.
    pub(super) fn finish(mut self, mut builder: ComponentsBuilder) -> ComponentsBuilder {
        let error = self.schema::<ErrorBody>();
        let field_errors = self.schema::<FieldErrors>();
        for failure in &self.failures {
            builder = builder.response(failure.name(), failure.response(&error, &field_errors));
        }
        builder.schemas_from_iter(self.schemas)
    }
}

/// An error answer several routes share, described once under `components/responses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Failure {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooLarge,
    UnsupportedMediaType,
    Throttled,
}

impl Failure {
    fn status(self) -> u16 {
        match self {
            Failure::BadRequest => 400,
            Failure::Unauthorized => 401,
            Failure::Forbidden => 403,
            Failure::NotFound => 404,
            Failure::Conflict => 409,
            Failure::TooLarge => 413,
            Failure::UnsupportedMediaType => 415,
            Failure::Throttled => 429,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Failure::BadRequest => "BadRequest",
            Failure::Unauthorized => "Unauthorized",
            Failure::Forbidden => "Forbidden",
            Failure::NotFound => "NotFound",
            Failure::Conflict => "Conflict",
            Failure::TooLarge => "TooLarge",
            Failure::UnsupportedMediaType => "UnsupportedMediaType",
            Failure::Throttled => "Throttled",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Failure::BadRequest => "Malformed body, invalid fields or parameters",
            Failure::Unauthorized => "No token, a bad or expired token, or wrong credentials",
            Failure::Forbidden => {
                "Not allowed (e-mail not verified; a member doing an admin's action)"
            }
            Failure::NotFound => "Unknown id, or a room the caller is not a member of",
            Failure::Conflict => {
                "Already a member; the last admin leaving or stepping down; room full"
            }
            Failure::TooLarge => "Body over 64 KiB, or picture over the limit",
            Failure::UnsupportedMediaType => {
                "A body that is neither JSON nor a form (nor, for the profile, multipart)"
            }
            Failure::Throttled => "Too many attempts (logins for one address, messages to one room); `Retry-After` says when to try again",
        }
    }

    fn response(
        self,
        error: &RefOr<Schema>,
        field_errors: &RefOr<Schema>,
    ) -> utoipa::openapi::Response {
        let body = match self {
            Failure::BadRequest => Schema::OneOf(
                OneOfBuilder::new()
                    .item(error.clone())
                    .item(field_errors.clone())
                    .build(),
            )
            .into(),
            _ => error.clone(),
        };
        let mut response = ResponseBuilder::new()
            .description(self.description())
            .content(JSON, Content::new(Some(body)));
        let header = match self {
            Failure::Unauthorized => Some(("WWW-Authenticate", Type::String)),
            Failure::Throttled => Some(("Retry-After", Type::Integer)),
            _ => None,
        };
        if let Some((name, kind)) = header {
            let schema = ObjectBuilder::new().schema_type(kind).build();
            response = response.header(name, HeaderBuilder::new().schema(schema).build());
        }
        response.build()
    }
}

/// One successful answer: status, description and body (none for `204`).
type Answer = (u16, &'static str, Option<RefOr<Schema>>);

/// What the document says about a route.
struct Doc {
    summary: &'static str,
    /// Served without a bearer token.
    public: bool,
    body: Option<RequestBody>,
    query: Vec<Parameter>,
    answers: Vec<Answer>,
    /// Errors beyond those every route of its kind has (a body's 400, 413
    /// and 415; a protected route's 401).
    failures: &'static [Failure],
}

impl Doc {
    fn new(summary: &'static str, answers: Vec<Answer>) -> Self {
        Self {
            summary,
            public: false,
            body: None,
            query: Vec::new(),
            answers,
            failures: &[],
        }
    }

    fn public(mut self) -> Self {
        self.public = true;
        self
    }

    fn json<T: ToSchema>(mut self, c: &mut Components) -> Self {
        self.body = Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(JSON, Content::new(Some(c.schema::<T>())))
                .build(),
        );
        self
    }

    fn failing(mut self, failures: &'static [Failure]) -> Self {
        self.failures = failures;
        self
    }
}

/// The profile change: JSON, or a multipart form that may carry a picture.
fn profile_change(c: &mut Components) -> RequestBody {
    let fields = c.schema::<ProfileUpdateRequest>();
    let picture = ObjectBuilder::new().schema_type(Type::Object).property(
        "profile_picture",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::Custom("binary".into())))
            .description(Some(
                "PNG, JPEG, GIF or WebP, at most MAX_PICTURE_BYTES (2 MiB)",
            )),
    );
    let form = AllOfBuilder::new()
        .item(fields.clone())
        .item(picture)
        .build();
    RequestBodyBuilder::new()
        .description(Some(
            "Only the fields sent change; an empty body changes nothing.",
        ))
        .content(JSON, Content::new(Some(fields)))
        .content(MULTIPART, Content::new(Some(Schema::AllOf(form))))
        .build()
}

fn doc(route: Route, c: &mut Components) -> Doc {
    use Failure::*;
    match route {
        Route::Register => Doc::new(
            "Create an account and mail a verification code",
            vec![(
                201,
                "Registration received (also for an address already in use, so that accounts cannot be discovered)",
                Some(c.schema::<Registered>()),
            )],
        )
        .public()
        .json::<RegisterRequest>(c),
        Route::VerifyEmail => Doc::new(
            "Verify the address with the mailed code",
            vec![(200, "Verified", Some(c.schema::<Detail>()))],
        )
        .public()
        .json::<VerifyEmailRequest>(c),
        Route::ResendOtp => Doc::new(
            "Mail a new code",
            vec![(200, "Done", Some(c.schema::<Detail>()))],
        )
        .public()
        .json::<ResendOtpRequest>(c),
        Route::Token => Doc::new(
            "Log in",
            vec![(200, "A token pair", Some(c.schema::<Tokens>()))],
        )
        .public()
        .json::<TokenRequest>(c)
        .failing(&[Unauthorized, Forbidden, Throttled]),
        Route::TokenRefresh => Doc::new(
            "Trade a refresh token for a new pair (the old one is spent)",
            vec![(200, "A token pair", Some(c.schema::<Tokens>()))],
        )
        .public()
        .json::<RefreshRequest>(c)
        .failing(&[Unauthorized]),
        Route::Logout => Doc::new(
            "Revoke the refresh token's family",
            vec![(200, "Logged out", Some(c.schema::<Detail>()))],
        )
        .public()
        .json::<RefreshRequest>(c)
        .failing(&[Unauthorized]),
        Route::PasswordReset => Doc::new(
            "Mail a code to reset the password",
            vec![(
                200,
                "Done (the same answer for every address, so that accounts cannot be discovered)",
                Some(c.schema::<Detail>()),
            )],
        )
        .public()
        .json::<PasswordResetRequest>(c),
        Route::PasswordResetConfirm => Doc::new(
            "Set a new password with the mailed code (ends every session of the account)",
            vec![(200, "Password changed", Some(c.schema::<Detail>()))],
        )
        .public()
        .json::<PasswordResetConfirmRequest>(c),
        Route::ProfileGet => Doc::new(
            "The caller's profile",
            vec![(200, "The profile", Some(c.schema::<OwnProfile>()))],
        ),
        Route::ProfileUpdate => {
            let mut doc = Doc::new(
                "Change the profile (fields left out stay as they are)",
                vec![(200, "The profile", Some(c.schema::<OwnProfile>()))],
            );
            doc.body = Some(profile_change(c));
            doc
        }
        Route::UserLookup => {
            let mut doc = Doc::new(
                "Find a verified user by username, to start a chat (60 lookups a minute)",
                vec![(200, "The user", Some(c.schema::<Sender>()))],
            )
            .failing(&[BadRequest, NotFound, Throttled]);
            doc.query = LookupQuery::into_params(|| None);
            doc
        }
        Route::BlocksList => Doc::new(
            "The users you block, oldest block first",
            vec![(200, "Blocked users", Some(c.array::<BlockedUser>()))],
        ),
        Route::BlockAdd => Doc::new(
            "Block a user: no direct chat between you, neither sees the other's presence",
            vec![
                (200, "Blocked already", Some(c.schema::<BlockedUser>())),
                (201, "Blocked", Some(c.schema::<BlockedUser>())),
            ],
        )
        .json::<BlockRequest>(c)
        .failing(&[Conflict]),
        Route::BlockRemove => Doc::new(
            "Unblock a user",
            vec![(204, "Not blocked (any more)", None)],
        )
        .failing(&[NotFound]),
        Route::RoomsList => Doc::new(
            "The caller's rooms, most recently active first",
            vec![(200, "Rooms", Some(c.array::<Room>()))],
        ),
        Route::RoomsCreate => Doc::new(
            "Create a group room, or open a direct one",
            vec![
                (200, "The pair's existing direct room", Some(c.schema::<Room>())),
                (201, "The new room", Some(c.schema::<Room>())),
            ],
        )
        .json::<CreateRoomRequest>(c)
        .failing(&[Conflict]),
        Route::RoomGet => Doc::new(
            "A room with its members and the caller's role",
            vec![(200, "The room", Some(c.schema::<RoomDetail>()))],
        )
        .failing(&[NotFound]),
        Route::MessagesList => {
            let mut doc = Doc::new(
                "History, newest first",
                vec![(200, "A page", Some(c.schema::<Page>()))],
            )
            .failing(&[BadRequest, NotFound]);
            doc.query = HistoryQuery::into_params(|| None);
            doc
        }
        Route::MessagesSend => Doc::new(
            "Send a message (pushed to every member's connections)",
            vec![
                (200, "A retry of a `client_id` already stored", Some(c.schema::<Message>())),
                (201, "Stored and sent", Some(c.schema::<Message>())),
            ],
        )
        .json::<SendMessageRequest>(c)
        .failing(&[Forbidden, NotFound, Throttled]),
        Route::MessageEdit => Doc::new(
            "Edit your message (it keeps its place; members get `message_updated`)",
            vec![(200, "The message as it is now", Some(c.schema::<Message>()))],
        )
        .json::<EditMessageRequest>(c)
        .failing(&[Forbidden, NotFound]),
        Route::MessageDelete => Doc::new(
            "Delete a message (its sender, or a room admin); it keeps its place without its text",
            vec![(204, "Deleted (or deleted already)", None)],
        )
        .failing(&[Forbidden, NotFound]),
        Route::AttachmentCreate => Doc::new(
            "Ask for an upload slot: then PUT the file's bytes as it says, and send a message naming its id",
            vec![(201, "The slot", Some(c.schema::<UploadSlotView>()))],
        )
        .json::<UploadRequest>(c)
        .failing(&[Forbidden, NotFound, Throttled]),
        Route::AttachmentGet => Doc::new(
            "A download URL of a message's file, valid for a limited time (members)",
            vec![(200, "The file and its URL", Some(c.schema::<AttachmentDownload>()))],
        )
        .failing(&[NotFound]),
        Route::ReactionAdd => Doc::new(
            "React to a message with an emoji (once per emoji; members get `message_updated`)",
            vec![(200, "The message with its reactions", Some(c.schema::<Message>()))],
        )
        .json::<ReactionRequest>(c)
        .failing(&[NotFound, Conflict, Throttled]),
        Route::ReactionRemove => {
            let mut doc = Doc::new(
                "Take back your reaction (members get `message_updated`)",
                vec![(200, "The message with its reactions", Some(c.schema::<Message>()))],
            )
            .failing(&[BadRequest, NotFound, Throttled]);
            doc.query = ReactionQuery::into_params(|| None);
            doc
        }
        Route::MembersList => Doc::new(
            "The room's members",
            vec![(200, "Members", Some(c.array::<Member>()))],
        )
        .failing(&[NotFound]),
        Route::MembersAdd => Doc::new(
            "Add a member (admins)",
            vec![(201, "The new member", Some(c.schema::<Member>()))],
        )
        .json::<AddMemberRequest>(c)
        .failing(&[Forbidden, NotFound, Conflict]),
        Route::MemberUpdate => Doc::new(
            "Change a member's role (admins)",
            vec![(200, "The member", Some(c.schema::<Member>()))],
        )
        .json::<UpdateMemberRequest>(c)
        .failing(&[Forbidden, NotFound, Conflict]),
        Route::MemberRemove => Doc::new(
            "Remove a member (admins), or leave (yourself)",
            vec![(204, "Removed", None)],
        )
        .failing(&[Forbidden, NotFound, Conflict]),
        Route::RoomMute => Doc::new(
            "Mute the room for yourself (its messages count as no unread ones), or unmute it",
            vec![(200, "Your unread count now", Some(c.schema::<UnreadCount>()))],
        )
        .json::<MuteRequest>(c)
        .failing(&[NotFound]),
        Route::RoomRead => Doc::new(
            "Mark the room read up to a message (members' sockets get `receipt`, yours `unread`)",
            vec![(200, "Your unread count now", Some(c.schema::<UnreadCount>()))],
        )
        .json::<ReadRequest>(c)
        .failing(&[NotFound]),
        Route::RoomLeave => Doc::new(
            "Leave the room",
            vec![(200, "Left", Some(c.schema::<Detail>()))],
        )
        .failing(&[NotFound, Conflict]),
        Route::DirectChat => Doc::new(
            "Open (or find) the direct room with a user",
            vec![
                (200, "The pair's existing room", Some(c.schema::<Room>())),
                (201, "A new room", Some(c.schema::<Room>())),
            ],
        )
        .failing(&[BadRequest, NotFound]),
    }
}

/// The operation serving `method` on `route`.
pub(super) fn operation(route: Route, method: &str, c: &mut Components) -> Operation {
    let spec = route.spec();
    let doc = doc(route, c);
    let mut failures: BTreeSet<Failure> = doc.failures.iter().copied().collect();
    if doc.body.is_some() {
        failures.extend([
            Failure::BadRequest,
            Failure::TooLarge,
            Failure::UnsupportedMediaType,
        ]);
    }
    if !doc.public {
        failures.insert(Failure::Unauthorized);
    }
    let mut responses: Vec<(u16, RefOr<utoipa::openapi::Response>)> = doc
        .answers
        .into_iter()
        .map(|(status, description, body)| {
            let mut response = ResponseBuilder::new().description(description);
            if let Some(body) = body {
                response = response.content(JSON, Content::new(Some(body)));
            }
            (status, response.build().into())
        })
        .collect();
    for failure in &failures {
        responses.push((
            failure.status(),
            RefOr::Ref(Ref::from_response_name(failure.name())),
        ));
    }
    c.failures.extend(failures);
    responses.sort_by_key(|(status, _)| *status);
    let responses: Responses = responses
        .into_iter()
        .map(|(status, response)| (status.to_string(), response))
        .collect();
    let mut operation = OperationBuilder::new()
        .operation_id(Some(operation_id(spec.function, spec.methods, method)))
        .summary(Some(doc.summary))
        .request_body(doc.body)
        .responses(responses);
    if !doc.query.is_empty() {
        operation = operation.parameters(Some(doc.query));
    }
    if doc.public {
        operation = operation.securities(Some(Vec::<SecurityRequirement>::new()));
    }
    operation.build()
}

/// `messages-list` → `messagesList`; a route with several methods gets the
/// method appended (`profileUpdatePut`).
fn operation_id(function: &str, methods: &[&str], method: &str) -> String {
    let mut id = String::new();
    for (i, word) in function.split('-').enumerate() {
        id.push_str(&capitalised(word, i > 0));
    }
    if methods.len() > 1 {
        id.push_str(&capitalised(&method.to_ascii_lowercase(), true));
    }
    id
}

fn capitalised(word: &str, upper: bool) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) if upper => first.to_ascii_uppercase().to_string() + chars.as_str(),
        _ => word.to_owned(),
    }
}
