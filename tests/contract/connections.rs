use chat_core::domain::{Connection, RoomId, Timestamp, UserId};
use chat_core::ports::AddConnection;
use chat_core::Ctx;

use crate::contract;
use crate::support::T0;

contract!(
    connections_count_per_user_and_expire,
    the_socket_cap_is_a_condition_of_the_add,
    expired_connections_stop_counting_at_the_cap,
);

/// Plenty: the cap is not what the first case is about.
const NO_CAP: usize = 1_000;

fn added(live: usize) -> Option<AddConnection> {
    Some(AddConnection::Added { live })
}

fn connection(id: &str, user: &str, room: Option<&str>) -> Connection {
    Connection {
        id: id.to_owned(),
        user_id: UserId::from_trusted(user.to_owned()),
        room_id: room.map(|r| RoomId::from_trusted(r.to_owned())),
        connected_at: T0,
        expires_at: T0.plus_secs(7200),
        family: Some(format!("session-of-{id}")),
    }
}

async fn connections_count_per_user_and_expire(ctx: &Ctx) {
    let c = &ctx.connections;
    assert_eq!(
        c.add_connection(&connection("c1=", "u1", None), T0, NO_CAP)
            .await
            .ok(),
        added(1)
    );
    assert_eq!(
        c.add_connection(&connection("c2=", "u1", Some("r1")), T0, NO_CAP)
            .await
            .ok(),
        added(2)
    );
    assert_eq!(
        c.add_connection(&connection("c3=", "u2", None), T0, NO_CAP)
            .await
            .ok(),
        added(1)
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

/// At the cap one more socket is refused and stores nothing; ten opening
/// at once for the last free place make one.
async fn the_socket_cap_is_a_condition_of_the_add(ctx: &Ctx) {
    let c = &ctx.connections;
    for (i, id) in ["k1=", "k2="].iter().enumerate() {
        assert_eq!(
            c.add_connection(&connection(id, "capped", None), T0, 3)
                .await
                .ok(),
            added(i + 1)
        );
    }
    let racing = (0..10).map(|i| async move {
        c.add_connection(&connection(&format!("race{i}="), "capped", None), T0, 3)
            .await
    });
    let outcomes = futures_util::future::join_all(racing).await;
    let won = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(AddConnection::Added { live: 3 })))
        .count();
    let full = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(AddConnection::Full)))
        .count();
    assert_eq!((won, full), (1, 9), "{outcomes:?}");
    let user = UserId::from_trusted("capped".into());
    let held = c
        .connections_of(std::slice::from_ref(&user), T0)
        .await
        .expect("read");
    assert_eq!(held.len(), 3, "{held:?}");
    let refused: Vec<_> = (0..10)
        .map(|i| format!("race{i}="))
        .filter(|id| !held.iter().any(|h| &h.id == id))
        .collect();
    for id in &refused {
        assert!(
            c.connection(id, T0).await.expect("read").is_none(),
            "a refused socket is not stored: {id}"
        );
    }
    // Closing one makes room for the next.
    let (_, left) = c
        .remove_connection("k1=", T0)
        .await
        .expect("remove")
        .expect("known");
    assert_eq!(left, 2);
    assert_eq!(
        c.add_connection(&connection("k4=", "capped", None), T0, 3)
            .await
            .ok(),
        added(3)
    );
}

/// Connections whose close never came stop counting once expired: a user
/// at the cap with only expired sockets may open a new one.
async fn expired_connections_stop_counting_at_the_cap(ctx: &Ctx) {
    let c = &ctx.connections;
    for id in ["lost1=", "lost2="] {
        assert!(matches!(
            c.add_connection(&connection(id, "lossy", None), T0, 2)
                .await,
            Ok(AddConnection::Added { .. })
        ));
    }
    let later: Timestamp = T0.plus_secs(7200 + 1);
    let mut fresh = connection("fresh=", "lossy", None);
    fresh.connected_at = later;
    fresh.expires_at = later.plus_secs(7200);
    assert_eq!(c.add_connection(&fresh, later, 2).await.ok(), added(1));
    let held = c
        .connections_of(&[UserId::from_trusted("lossy".into())], later)
        .await
        .expect("read");
    assert_eq!(held, vec![fresh]);
    // The late close of a lost one changes nothing.
    if let Some((_, left)) = c.remove_connection("lost1=", later).await.expect("remove") {
        assert_eq!(left, 1);
    }
}
