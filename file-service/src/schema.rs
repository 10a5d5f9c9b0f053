// Kept in step with migrations/ by the `schema_matches_the_migrations` test.

diesel::table! {
    file_metadata (id) {
        id -> Uuid,
        user_id -> Uuid,
        original_name -> Text,
        file_name -> Text,
        extension -> Text,
        mime_type -> Text,
        size -> Int8,
        sha256 -> Nullable<Text>,
        duration -> Text,
        status -> Text,
        created_at -> Timestamptz,
        uploaded_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        purged_at -> Nullable<Timestamptz>,
        claimed_until -> Nullable<Timestamptz>,
        idempotency_key -> Nullable<Text>,
        reserved_bytes -> Int8,
    }
}
