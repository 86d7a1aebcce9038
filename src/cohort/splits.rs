//! Cross-validation folds grouped by case: every scan of a patient falls in
//! the same fold, so no time point of a validation patient is trained on
//! (nnU-Net's default split is random per scan and would leak them).

use std::collections::BTreeMap;

/// Fold of each scan, given each scan's case id: case ids sorted, dealt out
/// round-robin (deterministic, and balanced to within one case).
pub fn folds_by_case(case_ids: &[&str], folds: usize) -> Vec<usize> {
    let folds = folds.max(1);
    let mut fold_of: BTreeMap<&str, usize> = case_ids.iter().map(|&c| (c, 0)).collect();
    for (n, fold) in fold_of.values_mut().enumerate() {
        *fold = n % folds;
    }
    case_ids.iter().map(|c| fold_of[c]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_of_one_case_share_a_fold_and_folds_are_balanced() {
        let cases = ["b", "a", "c", "a", "d", "b", "e"];
        let f = folds_by_case(&cases, 2);
        assert_eq!(f, vec![1, 0, 0, 0, 1, 1, 0]);
        assert_eq!(folds_by_case(&["x"], 0), vec![0]);
    }
}
