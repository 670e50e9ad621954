//! The PostgreSQL state backend, against a real server (tests/support/pg.rs).

use crate::support::pg::Pg;

#[test]
fn the_test_cluster_starts_answers_and_restarts() {
    let pg = Pg::start();
    let rows = pg.sql("SELECT 1 + 1");
    assert_eq!(rows, vec![vec![Some("2".to_string())]]);
    if pg.owns_server() {
        pg.stop();
        pg.start_again();
        assert_eq!(
            pg.sql("SELECT 'back'"),
            vec![vec![Some("back".to_string())]]
        );
    }
}
