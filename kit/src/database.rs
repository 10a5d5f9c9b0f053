//! Database start-up for the services that own tables: create the database when it is
//! missing, apply the service's embedded migrations, and build the connection pool.

use anyhow::{Context, anyhow};
use diesel_async::{
    AsyncPgConnection,
    async_connection_wrapper::AsyncConnectionWrapper,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, deadpool},
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

pub type Pool = deadpool::Pool<AsyncPgConnection>;

/// Arbitrary but fixed: serializes migrations of replicas that start at the same time.
const MIGRATION_LOCK_KEY: i64 = 0x666c_6f77_7376;

/// Connects to `url` (creating its database when it does not exist), applies `migrations`
/// and returns a pool of at most `max_size` connections.
///
/// A connection goes back out of the pool without a test query first: that query was a
/// round trip to PostgreSQL before every statement a request ran. A connection whose
/// socket closed (the server restarted or ended it) is still dropped on its way out, as
/// is one left inside a broken transaction.
pub async fn connect(
    url: &str,
    migrations: EmbeddedMigrations,
    max_size: usize,
) -> anyhow::Result<Pool> {
    ensure_database_exists(url).await?;
    migrate(url, migrations).await?;
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    deadpool::Pool::builder(manager)
        .max_size(max_size)
        .build()
        .context("building the connection pool")
}

async fn migrate(url: &str, migrations: EmbeddedMigrations) -> anyhow::Result<()> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use diesel::{Connection, RunQueryDsl};

        let mut connection = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .context("connecting to run migrations")?;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .execute(&mut connection)
            .context("taking the migration lock")?;
        let applied: anyhow::Result<Vec<String>> = connection
            .run_pending_migrations(migrations)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|error| anyhow!("applying migrations: {error}"));
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            .execute(&mut connection)
            .context("releasing the migration lock")?;
        for version in applied? {
            tracing::info!(%version, "migration applied");
        }
        Ok(())
    })
    .await
    .context("migration task panicked")?
}

/// Creates the database named in `url` when the server does not have it yet.
pub async fn ensure_database_exists(url: &str) -> anyhow::Result<()> {
    let (server_url, name) = split_database_url(url)?;
    let mut connection: AsyncPgConnection =
        <AsyncPgConnection as diesel_async::AsyncConnection>::establish(&server_url)
            .await
            .with_context(|| format!("connecting to {}", redact(&server_url)))?;
    create_database_if_missing(&mut connection, &name).await
}

async fn create_database_if_missing(
    connection: &mut AsyncPgConnection,
    name: &str,
) -> anyhow::Result<()> {
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::RunQueryDsl as _;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let existing: Count =
        diesel::sql_query("SELECT count(*) AS count FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(name)
            .get_result(connection)
            .await
            .context("looking up the database")?;
    if existing.count > 0 {
        return Ok(());
    }
    let created = diesel::sql_query(format!("CREATE DATABASE {}", quote_identifier(name)))
        .execute(connection)
        .await;
    match created {
        Ok(_) => {
            tracing::info!(database = name, "database created");
            Ok(())
        }
        // Another replica created it between our check and our create.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(()),
        Err(error) => Err(error).context("creating the database"),
    }
}

/// Splits `postgres://…/name?opts` into the same URL pointing at the `postgres`
/// maintenance database, and `name`.
fn split_database_url(url: &str) -> anyhow::Result<(String, String)> {
    let (before_query, query) = match url.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (url, None),
    };
    let scheme_end = before_query
        .find("://")
        .ok_or_else(|| anyhow!("database url has no scheme"))?
        + 3;
    let path_start = before_query[scheme_end..]
        .find('/')
        .map(|index| scheme_end + index)
        .ok_or_else(|| anyhow!("database url names no database"))?;
    let name = &before_query[path_start + 1..];
    if name.is_empty() {
        return Err(anyhow!("database url names no database"));
    }
    let mut server_url = format!("{}/postgres", &before_query[..path_start]);
    if let Some(query) = query {
        server_url.push('?');
        server_url.push_str(query);
    }
    Ok((server_url, name.to_owned()))
}

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The URL without its password, for logs.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|index| index + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let Some(at) = rest.find('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_owned(),
    }
}

/// A new empty database on the server of `server_url`, for one test.
pub async fn create_test_database(server_url: &str, prefix: &str) -> anyhow::Result<String> {
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let (maintenance_url, _) = split_database_url(server_url)?;
    let mut connection: AsyncPgConnection =
        <AsyncPgConnection as diesel_async::AsyncConnection>::establish(&maintenance_url)
            .await
            .with_context(|| format!("connecting to {}", redact(&maintenance_url)))?;
    create_database_if_missing(&mut connection, &name).await?;
    let (base, query) = match maintenance_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (maintenance_url.as_str(), None),
    };
    let base = base.trim_end_matches("/postgres");
    Ok(match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_splits_into_server_and_name() {
        let (server, name) =
            split_database_url("postgres://user:pw@db:5432/files?sslmode=disable").unwrap();
        assert_eq!(
            server,
            "postgres://user:pw@db:5432/postgres?sslmode=disable"
        );
        assert_eq!(name, "files");
    }

    #[test]
    fn a_url_without_a_database_is_refused() {
        assert!(split_database_url("postgres://db:5432").is_err());
        assert!(split_database_url("postgres://db:5432/").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
