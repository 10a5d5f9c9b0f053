//! Statements the connection prepares once and then reuses.
//!
//! diesel keeps a prepared statement per connection for every query it can tell apart
//! by its type or by its SQL text, but never for one that contains `dsl::sql` or is a
//! `sql_query`: their text is a runtime string, so it sends those through PostgreSQL's
//! parse and plan again every time. The listing runs on every `GET /api/files`, so its
//! few fixed SQL fragments and its count are written here as types whose text is fixed
//! at compile time, which keeps the statements they are part of cacheable.

use std::marker::PhantomData;

use diesel::{
    QueryResult,
    expression::{
        AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping,
        is_aggregate,
    },
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::{BigInt, Uuid as SqlUuid},
};
use uuid::Uuid;

/// A piece of SQL written in this crate, of SQL type `ST`, for use inside a query built
/// with diesel's DSL where `dsl::sql` would otherwise go.
#[derive(Debug)]
pub struct Fixed<ST> {
    sql: &'static str,
    sql_type: PhantomData<ST>,
}

impl<ST> Clone for Fixed<ST> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<ST> Copy for Fixed<ST> {}

pub fn fixed<ST>(sql: &'static str) -> Fixed<ST> {
    Fixed {
        sql,
        sql_type: PhantomData,
    }
}

impl<ST: TypedExpressionType> Expression for Fixed<ST> {
    type SqlType = ST;
}

impl<ST> QueryFragment<Pg> for Fixed<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

// No static id: two `Fixed` of one SQL type are the same Rust type with different text,
// so a statement that contains one is told apart (and cached) by its SQL text instead.
impl<ST> QueryId for Fixed<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: TypedExpressionType, QS> AppearsOnTable<QS> for Fixed<ST> {}

impl<ST: TypedExpressionType, QS> SelectableExpression<QS> for Fixed<ST> {}

impl<ST, GroupBy> ValidGrouping<GroupBy> for Fixed<ST> {
    type IsAggregate = is_aggregate::Never;
}

/// How many live files a user has: the count the triggers of `file_metadata` keep, less
/// the rows expired but not swept yet (one short index range), so the cost does not grow
/// with the number of files.
#[derive(Debug, Clone, Copy)]
pub struct LiveFiles {
    pub user_id: Uuid,
}

impl QueryFragment<Pg> for LiveFiles {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT coalesce((SELECT active FROM user_file_counts WHERE user_id = ");
        out.push_bind_param::<SqlUuid, _>(&self.user_id)?;
        out.push_sql("), 0) - (SELECT count(*) FROM file_metadata WHERE user_id = ");
        out.push_bind_param::<SqlUuid, _>(&self.user_id)?;
        out.push_sql(" AND status = 'active' AND expires_at <= now())");
        Ok(())
    }
}

impl QueryId for LiveFiles {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for LiveFiles {
    type SqlType = BigInt;
}
