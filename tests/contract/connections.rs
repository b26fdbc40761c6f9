use chat_core::domain::{Connection, RoomId, UserId};
use chat_core::Ctx;

use crate::contract;
use crate::support::T0;

contract!(connections_count_per_user_and_expire);

fn connection(id: &str, user: &str, room: Option<&str>) -> Connection {
    Connection {
        id: id.to_owned(),
        user_id: UserId::from_trusted(user.to_owned()),
        room_id: room.map(|r| RoomId::from_trusted(r.to_owned())),
        connected_at: T0,
        expires_at: T0.plus_secs(7200),
    }
}

async fn connections_count_per_user_and_expire(ctx: &Ctx) {
    let c = &ctx.connections;
    assert_eq!(
        c.add_connection(&connection("c1=", "u1", None), T0)
            .await
            .ok(),
        Some(1)
    );
    assert_eq!(
        c.add_connection(&connection("c2=", "u1", Some("r1")), T0)
            .await
            .ok(),
        Some(2)
    );
    assert_eq!(
        c.add_connection(&connection("c3=", "u2", None), T0)
            .await
            .ok(),
        Some(1)
    );
    let found = c.connection("c2=", T0).await.expect("read").expect("found");
    assert_eq!(found.room_id.as_ref().map(RoomId::as_str), Some("r1"));
    assert!(
        c.connection("c2=", T0.plus_secs(7200))
            .await
            .expect("read")
            .is_none(),
        "expired on read"
    );
    let mut of = c
        .connections_of(
            &[
                UserId::from_trusted("u1".into()),
                UserId::from_trusted("u2".into()),
                UserId::from_trusted("u9".into()),
            ],
            T0,
        )
        .await
        .expect("read");
    of.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        of,
        vec![
            connection("c1=", "u1", None),
            connection("c2=", "u1", Some("r1")),
            connection("c3=", "u2", None)
        ]
    );
    let (gone, left) = c
        .remove_connection("c1=", T0)
        .await
        .expect("remove")
        .expect("known");
    assert_eq!((gone.user_id.as_str(), left), ("u1", 1));
    let (_, left) = c
        .remove_connection("c2=", T0)
        .await
        .expect("remove")
        .expect("known");
    assert_eq!(left, 0);
    assert!(c
        .remove_connection("c2=", T0)
        .await
        .expect("remove")
        .is_none());
    assert!(c
        .connections_of(&[UserId::from_trusted("u1".into())], T0)
        .await
        .expect("read")
        .is_empty());
    // Expired connections do not count as online.
    assert!(c
        .connections_of(&[UserId::from_trusted("u2".into())], T0.plus_secs(7200))
        .await
        .expect("read")
        .is_empty());
}
