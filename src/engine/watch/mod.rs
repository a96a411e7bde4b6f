//! Watching the pull requests of a run (`orch watch`, `orch run --follow`): [`decide`] is
//! the rule book (pure); `follow` the loop that looks, fixes and waits; `answer` the push
//! and the replies after a fix; `say` what they tell the run state.

mod answer;
pub mod decide;
mod fix;
mod follow;
mod restack;
mod say;

pub(super) use follow::follow;
