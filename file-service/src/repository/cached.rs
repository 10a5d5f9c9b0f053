//! Statements the connection prepares once and then reuses.
//!
//! diesel keeps a prepared statement per connection for every query it can tell apart
//! by its type or by its SQL text, but never for one that contains `dsl::sql` or is a
//! `sql_query`: their text is a runtime string, so it sends those through PostgreSQL's
//! parse and plan again every time (for a `sql_query`, three round trips: prepare,
//! execute, close). The listing runs on every `GET /api/files`, so its few fixed SQL
//! fragments and its count are written here as types whose text is fixed at compile time,
//! which keeps the statements they are part of cacheable; [`Statement`] does the same for
//! whole statements, such as those every tus request runs.

use std::marker::PhantomData;

use diesel::{
    QueryResult,
    expression::{
        AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping,
        is_aggregate,
    },
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::{BigInt, Bool, Integer, Nullable, Untyped, Uuid as SqlUuid},
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

/// A value bound into a [`Statement`].
#[derive(Debug, Clone, Copy)]
pub enum Value {
    Uuid(Uuid),
    Int(i32),
    BigInt(i64),
    MaybeBigInt(Option<i64>),
    Bool(bool),
}

/// A whole statement written in this crate and read by name (`QueryableByName`) like a
/// `sql_query`, but prepared once per connection: its text is fixed at compile time, so
/// the statement is cached by that text. `pieces` are the SQL between the values: one
/// more piece than values, each value bound (as the next `$n`) between two pieces.
#[derive(Debug, Clone)]
pub struct Statement {
    pieces: &'static [&'static str],
    values: Vec<Value>,
}

pub fn statement(pieces: &'static [&'static str], values: Vec<Value>) -> Statement {
    Statement { pieces, values }
}

impl QueryFragment<Pg> for Statement {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let (last, pieces) = self
            .pieces
            .split_last()
            .ok_or_else(|| diesel::result::Error::QueryBuilderError("an empty statement".into()))?;
        if pieces.len() != self.values.len() {
            return Err(diesel::result::Error::QueryBuilderError(
                "a statement needs one more piece than values".into(),
            ));
        }
        for (piece, value) in pieces.iter().zip(&self.values) {
            out.push_sql(piece);
            match value {
                Value::Uuid(value) => out.push_bind_param::<SqlUuid, _>(value)?,
                Value::Int(value) => out.push_bind_param::<Integer, _>(value)?,
                Value::BigInt(value) => out.push_bind_param::<BigInt, _>(value)?,
                Value::MaybeBigInt(value) => out.push_bind_param::<Nullable<BigInt>, _>(value)?,
                Value::Bool(value) => out.push_bind_param::<Bool, _>(value)?,
            }
        }
        out.push_sql(last);
        Ok(())
    }
}

// As for `Fixed`: every `Statement` is one Rust type, told apart by its SQL text.
impl QueryId for Statement {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement {
    type SqlType = Untyped;
}
