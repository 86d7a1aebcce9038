//! Majority vote: per voxel, the label most raters gave.

use rayon::prelude::*;

use super::RaterRuns;

/// Per run: the label with the most votes (background is a label like any
/// other); a tie for the most gives background. ITK's
/// `LabelVotingImageFilter` gives its "undecided" label there instead.
pub(super) fn decide(runs: &RaterRuns) -> Vec<u8> {
    (0..runs.len())
        .into_par_iter()
        .map(|j| vote(runs.tuple(j)))
        .collect()
}

fn vote(tuple: &[u8]) -> u8 {
    let mut best = (0usize, 0u8);
    let mut tied = false;
    for (r, &label) in tuple.iter().enumerate() {
        // Count each label once: at its first rater.
        if tuple[..r].contains(&label) {
            continue;
        }
        let votes = tuple[r..].iter().filter(|&&l| l == label).count();
        if votes > best.0 {
            best = (votes, label);
            tied = false;
        } else if votes == best.0 {
            tied = true;
        }
    }
    if tied { 0 } else { best.1 }
}

#[cfg(test)]
mod tests {
    use super::vote;

    #[test]
    fn plurality_wins_and_ties_give_background() {
        assert_eq!(vote(&[1, 1, 0]), 1);
        assert_eq!(vote(&[2, 1, 0]), 0);
        assert_eq!(vote(&[2, 2, 1, 1]), 0);
        assert_eq!(vote(&[3, 3, 1, 2, 0]), 3);
        assert_eq!(vote(&[0, 0, 1]), 0);
        assert_eq!(vote(&[5, 5]), 5);
    }
}
