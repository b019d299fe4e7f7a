//! How a Claude Code conversation tree splits into the live branch (the imported
//! session) and the branches it left (edited messages, retries), each of which is
//! imported as a fork holding only its own lines.
//!
//! The split is made in file order and depends only on lines already written, so
//! a transcript that grows keeps every branch it had: a line continues the branch
//! of its parent when the parent is that branch's newest message (or a
//! bookkeeping line after it), and otherwise starts a new branch there.

use std::collections::{HashMap, HashSet};

/// What the split needs of a line.
pub(crate) struct TreeNode<'a> {
    pub uuid: &'a str,
    /// `parentUuid`, else `logicalParentUuid`.
    pub up: Option<&'a str>,
    /// A `user`, `assistant` or `system` line (not bookkeeping).
    pub is_message: bool,
}

/// A branch off the live one: its own lines, root side first.
pub(crate) struct BranchPlan {
    /// The branch it leaves: `None` for the live branch, else an index into
    /// [`Plan::branches`] (always a lower one).
    pub parent: Option<usize>,
    /// The last line it shares with its parent.
    pub join: usize,
    pub nodes: Vec<usize>,
}

pub(crate) struct Plan {
    pub branches: Vec<BranchPlan>,
    /// Every line some branch leaves from.
    pub joins: HashSet<usize>,
    /// Lines off the live branch whose parent is in no earlier line.
    pub unconnected: Vec<usize>,
}

/// Splits the lines off `live` (the live branch's lines) into branches.
pub(crate) fn split(nodes: &[TreeNode], live: &[usize]) -> Plan {
    let by_uuid: HashMap<&str, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.uuid, i)).collect();
    let on_live: HashSet<usize> = live.iter().copied().collect();
    // The branch each line belongs to, and its place in that branch.
    let mut owner: Vec<Option<Owner>> = vec![None; nodes.len()];
    for &i in live {
        owner[i] = Some(Owner::Live);
    }
    let mut place: Vec<usize> = vec![0; nodes.len()];
    // Per branch: the place of its newest message line.
    let mut newest_message: Vec<Option<usize>> = Vec::new();
    let mut plan = Plan {
        branches: Vec::new(),
        joins: HashSet::new(),
        unconnected: Vec::new(),
    };
    for (i, node) in nodes.iter().enumerate() {
        if on_live.contains(&i) {
            continue;
        }
        let parent = node.up.and_then(|up| by_uuid.get(up).copied());
        let Some((p, of)) = parent.and_then(|p| owner[p].map(|o| (p, o))) else {
            plan.unconnected.push(i);
            continue;
        };
        let continues = match of {
            Owner::Live => None,
            Owner::Branch(b) => newest_message[b]
                .is_none_or(|newest| place[p] >= newest)
                .then_some(b),
        };
        let b = match continues {
            Some(b) => {
                plan.branches[b].nodes.push(i);
                b
            }
            None => {
                plan.joins.insert(p);
                plan.branches.push(BranchPlan {
                    parent: match of {
                        Owner::Live => None,
                        Owner::Branch(b) => Some(b),
                    },
                    join: p,
                    nodes: vec![i],
                });
                newest_message.push(None);
                plan.branches.len() - 1
            }
        };
        owner[i] = Some(Owner::Branch(b));
        place[i] = plan.branches[b].nodes.len() - 1;
        if node.is_message {
            newest_message[b] = Some(place[i]);
        }
    }
    plan
}

#[derive(Clone, Copy, PartialEq)]
enum Owner {
    Live,
    Branch(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node<'a>(uuid: &'a str, up: Option<&'a str>) -> TreeNode<'a> {
        TreeNode {
            uuid,
            up,
            is_message: true,
        }
    }

    #[test]
    fn two_branches_off_the_live_one_and_a_branch_of_a_branch() {
        // a - b - c - d (live); b - x - y; c - z; x - w
        let nodes = [
            node("a", None),
            node("b", Some("a")),
            node("x", Some("b")),
            node("y", Some("x")),
            node("c", Some("b")),
            node("z", Some("c")),
            node("w", Some("x")),
            node("d", Some("c")),
        ];
        let plan = split(&nodes, &[0, 1, 4, 7]);
        let shape: Vec<_> = plan
            .branches
            .iter()
            .map(|b| (b.parent, b.join, b.nodes.clone()))
            .collect();
        assert_eq!(
            shape,
            [
                (None, 1, vec![2, 3]),
                (None, 4, vec![5]),
                (Some(0), 2, vec![6])
            ]
        );
        assert!(plan.unconnected.is_empty());
    }

    #[test]
    fn a_bookkeeping_line_after_a_branch_tip_does_not_split_it() {
        // a - b (live); a - x - p (progress) and x - y
        let mut progress = node("p", Some("x"));
        progress.is_message = false;
        let nodes = [
            node("a", None),
            node("x", Some("a")),
            progress,
            node("y", Some("x")),
            node("b", Some("a")),
            node("q", Some("gone")),
        ];
        let plan = split(&nodes, &[0, 4]);
        assert_eq!(plan.branches.len(), 1);
        assert_eq!(plan.branches[0].nodes, [1, 2, 3]);
        assert_eq!(plan.unconnected, [5]);
    }
}
