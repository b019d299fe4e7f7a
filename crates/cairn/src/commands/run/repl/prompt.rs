//! The REPL's prompt: the session on the left, the model on the right, so a person
//! always sees which conversation a line goes to and which model answers it.

use std::borrow::Cow;

use crate::output::one_line;
use reedline::{Color, Prompt, PromptEditMode, PromptHistorySearch, PromptHistorySearchStatus};

#[derive(Clone, Debug)]
pub(super) struct SessionPrompt {
    session: String,
    model: String,
}

impl SessionPrompt {
    pub(super) fn new(session: &str, model: &str) -> Self {
        SessionPrompt {
            session: one_line(session).into_owned(),
            model: one_line(model).into_owned(),
        }
    }

    /// After `/session`, `/new`, `/rename` or `/model`.
    pub(super) fn update(&mut self, session: &str, model: &str) {
        self.session = one_line(session).into_owned();
        self.model = one_line(model).into_owned();
    }

    /// The plain-text prompt (for input that is not read through reedline).
    pub(super) fn plain(&self) -> String {
        format!("{} [{}] › ", self.session, self.model)
    }
}

impl Prompt for SessionPrompt {
    fn render_prompt_left(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.session)
    }

    fn render_prompt_right(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.model)
    }

    fn render_prompt_indicator(&self, _mode: PromptEditMode) -> Cow<'_, str> {
        Cow::Borrowed(" › ")
    }

    fn render_prompt_multiline_indicator(&self) -> Cow<'_, str> {
        Cow::Borrowed("… ")
    }

    fn render_prompt_history_search_indicator(&self, search: PromptHistorySearch) -> Cow<'_, str> {
        let prefix = match search.status {
            PromptHistorySearchStatus::Passing => "",
            PromptHistorySearchStatus::Failing => "failing ",
        };
        Cow::Owned(format!("({prefix}history search: {}) ", search.term))
    }

    fn get_prompt_color(&self) -> Color {
        Color::Cyan
    }

    fn get_prompt_right_color(&self) -> Color {
        Color::DarkGray
    }

    fn get_indicator_color(&self) -> Color {
        Color::Cyan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_session_and_model() {
        let prompt = SessionPrompt::new("auth-refactor", "openai:gpt-4.1");
        assert_eq!(prompt.render_prompt_left(), "auth-refactor");
        assert_eq!(prompt.render_prompt_right(), "openai:gpt-4.1");
        assert_eq!(prompt.plain(), "auth-refactor [openai:gpt-4.1] › ");
    }

    #[test]
    fn control_characters_never_reach_the_prompt() {
        let prompt = SessionPrompt::new("s", "openai:\x1b[31mred\n");
        assert_eq!(prompt.render_prompt_right(), "openai:\\u{1b}[31mred\\n");
        let bidi = SessionPrompt::new("s", "openai:\u{202E}1.4-tpg");
        assert_eq!(bidi.render_prompt_right(), "openai:\\u{202e}1.4-tpg");
    }
}
