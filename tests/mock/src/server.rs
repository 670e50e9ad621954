//! The routes at the vendors' real paths, and serving them: on a listener the
//! caller owns (`serve`), or on a thread of their own (`Server`).

use crate::config::Config;
use crate::state::Mock;
use crate::wire::answer;
use crate::{activeplatform, acton, docusign, faults, formsonfire, scim};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

impl Mock {
    pub(crate) fn router(&self) -> Router {
        Router::new()
            .route("/acton/api/1/user", post(acton::create))
            .route("/acton/token", post(acton::token))
            .route("/docusign/oauth/token", post(docusign::token))
            .route(
                "/activeplatform/api/vendor/v1/users.json",
                post(activeplatform::create).get(activeplatform::list),
            )
            .route(
                "/docusign/restapi/v2.1/accounts/{account}/users",
                post(docusign::create).get(docusign::list),
            )
            .route("/formsonfire/api/v2/user", post(formsonfire::create))
            .route("/formsonfire/api/v2/user/search", get(formsonfire::search))
            .route("/scim/v2/Users", post(scim::create).get(scim::list))
            .route("/scim/v2/ServiceProviderConfig", get(scim::config))
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                faults::observe,
            ))
            .route("/_mock/requests", get(list_requests))
            .route("/_mock/users", get(list_users))
            .with_state(self.clone())
    }
}

/// `GET /_mock/requests`: every request received, for demos.
async fn list_requests(State(mock): State<Mock>) -> Response {
    answer(StatusCode::OK, json!(mock.data().requests))
}

/// `GET /_mock/users`: the users held, by kind.
async fn list_users(State(mock): State<Mock>) -> Response {
    answer(StatusCode::OK, json!(mock.data().users))
}

/// Serves `mock` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    mock: Mock,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, mock.router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// A mock running on its own thread on 127.0.0.1; stops when dropped.
pub struct Server {
    pub mock: Mock,
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(config: Config) -> Server {
        let mock = Mock::new(config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("mock runtime");
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", std_listener.local_addr().expect("local addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = mock.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                let _ = serve(listener, served, async {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        Server {
            mock,
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
