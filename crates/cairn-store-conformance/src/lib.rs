//! The store conformance suite: the behaviour of `cairn_core::Store` written once,
//! against `Arc<dyn Store>`, and run for every backend. A backend's test file
//! names a function that gives a fresh, empty store and expands the macro:
//!
//! ```ignore
//! fn fresh() -> cairn_store_conformance::Fixture { /* open an empty store */ }
//! cairn_store_conformance::store_conformance_tests!(fresh);
//! ```
//!
//! Adding a backend means implementing `Store` and passing this suite. What is
//! specific to one backend (files, migrations, processes) stays in its crate.

use std::sync::Arc;

use cairn_core::Store;

pub mod authors;
pub mod changes;
pub mod coordination;
pub mod events;
pub mod gc;
pub mod import;
pub mod import_origin;
pub mod lineage;
pub mod memory;
pub mod payloads;
pub mod pool_bounds;
pub mod projects;
pub mod search;
pub mod sessions;
pub mod space;
pub mod support;

/// A fresh store for one test, and a way to open the same store again (to check
/// that what was written survives).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub reopen: Reopen,
}

/// Opens the fixture's store again; owns whatever keeps it alive (a temp dir, a
/// test database).
pub struct Reopen(Box<dyn Fn() -> Arc<dyn Store> + Send + Sync>);

impl Reopen {
    pub fn open(&self) -> Arc<dyn Store> {
        (self.0)()
    }
}

impl Fixture {
    pub fn new(
        store: Arc<dyn Store>,
        reopen: impl Fn() -> Arc<dyn Store> + Send + Sync + 'static,
    ) -> Self {
        Fixture {
            store,
            reopen: Reopen(Box::new(reopen)),
        }
    }
}

/// Expands to one `#[tokio::test]` per conformance test, each calling `$fresh()`
/// (a `fn() -> Fixture`) for its own empty store. Needs `tokio` (macros,
/// rt-multi-thread) among the caller's dev-dependencies.
#[macro_export]
macro_rules! store_conformance_tests {
    ($fresh:path) => {
        #[::tokio::test(flavor = "multi_thread")]
        async fn the_store_size_is_shown_by_part() {
            $crate::space::the_store_size_is_shown_by_part($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn imported_progress_keeps_ids_rounds_and_times_and_imports_once() {
            $crate::lineage::imported_progress_keeps_ids_rounds_and_times_and_imports_once($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_fork_shares_its_parents_history_and_counts_only_its_own() {
            $crate::lineage::a_fork_shares_its_parents_history_and_counts_only_its_own($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn forks_of_forks_and_compactions_on_both_sides_of_a_fork_point() {
            $crate::lineage::forks_of_forks_and_compactions_on_both_sides_of_a_fork_point($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_fork_point_must_be_in_the_parents_history() {
            $crate::lineage::a_fork_point_must_be_in_the_parents_history($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_session_with_forks_is_deleted_only_together_with_them() {
            $crate::lineage::a_session_with_forks_is_deleted_only_together_with_them($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_rewind_moves_the_live_context_back_and_keeps_the_history() {
            $crate::lineage::a_rewind_moves_the_live_context_back_and_keeps_the_history($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_rewind_must_point_into_the_history_and_a_bad_one_writes_nothing() {
            $crate::lineage::a_rewind_must_point_into_the_history_and_a_bad_one_writes_nothing($fresh()).await
        }
        #[::tokio::test]
        async fn create_append_list_and_resume_on_a_current_thread_runtime() {
            $crate::sessions::create_append_list_and_resume_on_a_current_thread_runtime($fresh())
                .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn names_are_unique_and_missing_sessions_are_not_found() {
            $crate::sessions::names_are_unique_and_missing_sessions_are_not_found($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn listing_is_newest_activity_first_with_pages_and_projects() {
            $crate::sessions::listing_is_newest_activity_first_with_pages_and_projects($fresh())
                .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn update_session_changes_only_given_fields() {
            $crate::sessions::update_session_changes_only_given_fields($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn usage_is_counted_once_per_request_id() {
            $crate::sessions::usage_is_counted_once_per_request_id($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn absurd_usage_or_cost_is_refused_and_writes_nothing() {
            $crate::sessions::absurd_usage_or_cost_is_refused_and_writes_nothing($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn tool_calls_and_compactions_are_counted() {
            $crate::sessions::tool_calls_and_compactions_are_counted($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_tasks_in_one_process_share_the_store() {
            $crate::sessions::concurrent_tasks_in_one_process_share_the_store($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_compaction_must_replace_earlier_events_and_a_bad_one_writes_nothing() {
            $crate::events::a_compaction_must_replace_earlier_events_and_a_bad_one_writes_nothing(
                $fresh(),
            )
            .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn live_context_after_several_compactions_equals_the_live_view() {
            $crate::events::live_context_after_several_compactions_equals_the_live_view($fresh())
                .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn knowledge_retention_keeps_the_newest_and_every_pinned_item() {
            $crate::events::knowledge_retention_keeps_the_newest_and_every_pinned_item($fresh())
                .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn large_events_of_the_live_context_or_the_whole_history() {
            $crate::events::large_events_of_the_live_context_or_the_whole_history($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn attachments_are_content_addressed() {
            $crate::events::attachments_are_content_addressed($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn unknown_kinds_fields_and_blocks_are_stored_losslessly() {
            $crate::events::unknown_kinds_fields_and_blocks_are_stored_losslessly($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn import_keeps_seqs_and_times_and_recomputes_totals_like_append() {
            $crate::import::import_keeps_seqs_and_times_and_recomputes_totals_like_append($fresh())
                .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn import_refuses_gaps_duplicates_and_taken_names_and_writes_nothing() {
            $crate::import::import_refuses_gaps_duplicates_and_taken_names_and_writes_nothing(
                $fresh(),
            )
            .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn import_moves_inline_media_into_attachments() {
            $crate::import::import_moves_inline_media_into_attachments($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn import_stream_failing_at_the_last_item_leaves_nothing() {
            $crate::import::import_stream_failing_at_the_last_item_leaves_nothing($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn import_stream_rolls_back_on_a_store_error_and_keeps_seqs_dense() {
            $crate::import::import_stream_rolls_back_on_a_store_error_and_keeps_seqs_dense($fresh())
                .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn import_origin_is_recorded_with_the_session_and_moves_with_appends() {
            $crate::import_origin::import_origin_is_recorded_with_the_session_and_moves_with_appends(
                $fresh(),
            )
            .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_failed_import_or_append_records_no_progress() {
            $crate::import_origin::a_failed_import_or_append_records_no_progress($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn deleting_the_session_forgets_its_import_and_a_new_import_takes_over() {
            $crate::import_origin::deleting_the_session_forgets_its_import_and_a_new_import_takes_over(
                $fresh(),
            )
            .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn the_origin_and_model_known_at_the_stream_end_are_recorded_with_the_session() {
            $crate::import_origin::the_origin_and_model_known_at_the_stream_end_are_recorded_with_the_session(
                $fresh(),
            )
            .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_finish_that_fails_leaves_no_session_no_event_and_no_origin() {
            $crate::import_origin::a_finish_that_fails_leaves_no_session_no_event_and_no_origin(
                $fresh(),
            )
            .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn search_is_newest_first_with_highlights_and_scoped_by_project() {
            $crate::search::search_is_newest_first_with_highlights_and_scoped_by_project($fresh())
                .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn session_search_covers_the_whole_history_of_one_session() {
            $crate::memory::session_search_covers_the_whole_history_of_one_session($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn project_knowledge_is_shared_by_the_sessions_of_a_project_key() {
            $crate::memory::project_knowledge_is_shared_by_the_sessions_of_a_project_key($fresh())
                .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn search_takes_query_syntax_literally() {
            $crate::search::search_takes_query_syntax_literally($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn deleting_a_session_removes_its_events_and_search_entries() {
            $crate::search::deleting_a_session_removes_its_events_and_search_entries($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_project_scope_excludes_nested_and_sibling_projects() {
            $crate::search::a_project_scope_excludes_nested_and_sibling_projects($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn checkpoints_number_their_rounds_per_session_id() {
            $crate::coordination::checkpoints_number_their_rounds_per_session_id($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn pool_signals_and_instances() {
            $crate::coordination::pool_signals_and_instances($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_project_keeps_its_most_recently_seen_instances() {
            $crate::pool_bounds::a_project_keeps_its_most_recently_seen_instances($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_project_key_keeps_its_most_recently_seen_instances_over_its_checkouts() {
            $crate::pool_bounds::a_project_key_keeps_its_most_recently_seen_instances_over_its_checkouts(
                $fresh(),
            )
            .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn new_instances_at_once_stay_bounded() {
            $crate::pool_bounds::new_instances_at_once_stay_bounded($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn the_store_keeps_its_most_recently_seen_instances_over_all_projects() {
            $crate::pool_bounds::the_store_keeps_its_most_recently_seen_instances_over_all_projects(
                $fresh(),
            )
            .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn leases_refuse_a_second_writer_unless_forced_or_stale() {
            $crate::coordination::leases_refuse_a_second_writer_unless_forced_or_stale($fresh())
                .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn search_matches_whole_words_ignoring_case_and_diacritics() {
            $crate::search::search_matches_whole_words_ignoring_case_and_diacritics($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn search_covers_message_thinking_tool_results_summaries_and_knowledge() {
            $crate::search::search_covers_message_thinking_tool_results_summaries_and_knowledge(
                $fresh(),
            )
            .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn search_is_newest_first_and_limit_zero_means_every_hit() {
            $crate::search::search_is_newest_first_and_limit_zero_means_every_hit($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn snippets_wrap_hits_in_brackets_and_cut_long_text() {
            $crate::search::snippets_wrap_hits_in_brackets_and_cut_long_text($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn every_write_is_announced_to_every_subscriber() {
            $crate::changes::every_write_is_announced_to_every_subscriber($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn failed_writes_are_not_announced_and_imports_are() {
            $crate::changes::failed_writes_are_not_announced_and_imports_are($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_subscriber_sees_only_changes_after_it_subscribed() {
            $crate::changes::a_subscriber_sees_only_changes_after_it_subscribed($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn events_checkpoints_and_signals_record_their_author() {
            $crate::authors::events_checkpoints_and_signals_record_their_author($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn unreferenced_attachments_are_collected_and_shared_ones_kept() {
            $crate::gc::unreferenced_attachments_are_collected_and_shared_ones_kept($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn history_bytes_count_a_sessions_own_events() {
            $crate::gc::history_bytes_count_a_sessions_own_events($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_large_payload_round_trips_byte_identical() {
            $crate::payloads::a_large_payload_round_trips_byte_identical($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn removing_one_of_two_sessions_sharing_a_payload_keeps_the_other() {
            $crate::payloads::removing_one_of_two_sessions_sharing_a_payload_keeps_the_other($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn attachments_put_ahead_of_their_event_are_kept() {
            $crate::gc::attachments_put_ahead_of_their_event_are_kept($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn search_orders_by_event_time_not_by_insertion() {
            $crate::search::search_orders_by_event_time_not_by_insertion($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn a_word_with_many_matches_is_still_newest_first_by_event_time() {
            $crate::search::a_word_with_many_matches_is_still_newest_first_by_event_time($fresh())
                .await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn checkpoints_are_found_by_full_text_search() {
            $crate::search::checkpoints_are_found_by_full_text_search($fresh()).await
        }
        #[::tokio::test(flavor = "multi_thread")]
        async fn two_checkouts_of_one_repository_are_one_project() {
            $crate::projects::two_checkouts_of_one_repository_are_one_project($fresh()).await
        }
    };
}
