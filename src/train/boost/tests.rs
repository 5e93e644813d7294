use super::*;

fn settings(loss: Loss) -> Settings {
    Settings {
        loss,
        n_estimators: 50,
        learning_rate: 0.1,
        max_leaves: 15,
        max_depth: None,
        rules: Rules::default(),
        max_bins: 255,
        subsample: 1.0,
        colsample: 1.0,
        seed: 7,
        early_stopping: None,
    }
}

/// A seeded stream of uniform numbers in [0, 1).
fn uniform(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen::<f64>()).collect()
}

fn accuracy(e: &Ensemble, x: &Array2<f64>, y: &[u32], classes: usize) -> f64 {
    let p = e.probabilities(x, classes);
    let hits = p
        .rows()
        .into_iter()
        .zip(y)
        .filter(|(row, c)| {
            let best = (0..classes)
                .max_by(|a, b| row[*a].total_cmp(&row[*b]))
                .unwrap();
            best == **c as usize
        })
        .count();
    hits as f64 / y.len() as f64
}

/// x0, x1 uniform; class = (x0 > 0.5) xor (x1 > 0.5), which no linear model learns.
fn xor(n: usize, seed: u64) -> (Array2<f64>, Vec<u32>) {
    let u = uniform(seed, 2 * n);
    let x = Array2::from_shape_fn((n, 2), |(i, j)| u[2 * i + j]);
    let y = (0..n)
        .map(|i| u32::from((x[[i, 0]] > 0.5) != (x[[i, 1]] > 0.5)))
        .collect();
    (x, y)
}

#[test]
fn learns_a_concept_no_linear_model_can_and_scores_unseen_rows() {
    let (x, y) = xor(4000, 1);
    let w = [1.0, 1.0];
    let fit = fit(
        &x,
        &[None, None],
        &Labels::Classes {
            index: &y,
            classes: 2,
            weights: &w,
        },
        &settings(Loss::LogLoss),
        None,
    );
    assert_eq!(fit.rounds, 50);
    assert_eq!(fit.ensemble.trees.len(), 50);
    let (xt, yt) = xor(2000, 2);
    let acc = accuracy(&fit.ensemble, &xt, &yt, 2);
    assert!(acc > 0.97, "held-out accuracy {acc}");
}

#[test]
fn the_same_model_on_one_thread_and_on_many() {
    let (x, y) = xor(20_000, 3);
    let w = [1.0, 2.0];
    let mut s = settings(Loss::LogLoss);
    s.subsample = 0.7;
    s.colsample = 0.5;
    s.n_estimators = 10;
    let labels = Labels::Classes {
        index: &y,
        classes: 2,
        weights: &w,
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let serial = one.install(|| fit(&x, &[None, None], &labels, &s, None));
    let four = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let parallel = four.install(|| fit(&x, &[None, None], &labels, &s, None));
    assert_eq!(serial.ensemble, parallel.ensemble);
    s.seed = 8;
    let other = fit(&x, &[None, None], &labels, &s, None);
    assert_ne!(other.ensemble, serial.ensemble, "the seed matters");
}

#[test]
fn multiclass_softmax_learns_three_bands() {
    let n = 3000;
    let u = uniform(4, n);
    let x = Array2::from_shape_fn((n, 1), |(i, _)| u[i]);
    let y: Vec<u32> = u.iter().map(|v| (v * 3.0).floor() as u32).collect();
    let w = [1.0; 3];
    let fit = fit(
        &x,
        &[None],
        &Labels::Classes {
            index: &y,
            classes: 3,
            weights: &w,
        },
        &settings(Loss::LogLoss),
        None,
    );
    assert_eq!(fit.ensemble.base_score.len(), 3);
    assert_eq!(
        fit.ensemble.trees.len(),
        150,
        "one tree per class per round"
    );
    assert!(accuracy(&fit.ensemble, &x, &y, 3) > 0.99);
    let p = fit.ensemble.probabilities(&x, 3);
    assert!(p.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-9));
}

#[test]
fn regression_with_squared_and_absolute_error() {
    let n = 5000;
    let u = uniform(5, 2 * n);
    let x = Array2::from_shape_fn((n, 2), |(i, j)| u[2 * i + j]);
    let truth: Vec<f64> = (0..n)
        .map(|i| 10.0 * x[[i, 0]] + (6.0 * x[[i, 1]]).sin())
        .collect();
    // outliers on 2% of the rows
    let y: Vec<f64> = truth
        .iter()
        .enumerate()
        .map(|(i, t)| if i % 50 == 0 { t + 500.0 } else { *t })
        .collect();
    let mut s = settings(Loss::SquaredError);
    s.n_estimators = 200;
    let sq = fit(&x, &[None, None], &Labels::Values(&y), &s, None);
    s.loss = Loss::AbsoluteError;
    let abs = fit(&x, &[None, None], &Labels::Values(&y), &s, None);
    let mae = |e: &Ensemble| {
        let r = e.raw(&x);
        (0..n).map(|i| (r[[i, 0]] - truth[i]).abs()).sum::<f64>() / n as f64
    };
    let (m_sq, m_abs) = (mae(&sq.ensemble), mae(&abs.ensemble));
    assert!(m_abs < 0.35, "absolute error ignores the outliers: {m_abs}");
    assert!(
        m_sq > 2.0 * m_abs,
        "squared error is pulled by them: {m_sq} vs {m_abs}"
    );
    assert_eq!(
        abs.ensemble.base_score,
        vec![median((0..n).map(|i| y[i]).collect())]
    );
}

#[test]
fn missing_values_and_category_sets_are_learned_natively() {
    // class 1 when x is missing, or when the category is one of {2, 5, 11, 17} of 20
    let n = 8000;
    let u = uniform(6, 3 * n);
    let x = Array2::from_shape_fn((n, 2), |(i, j)| {
        if j == 0 {
            if u[3 * i] < 0.2 {
                f64::NAN
            } else {
                u[3 * i + 1]
            }
        } else {
            (u[3 * i + 2] * 20.0).floor()
        }
    });
    let y: Vec<u32> = (0..n)
        .map(|i| u32::from(x[[i, 0]].is_nan() || [2.0, 5.0, 11.0, 17.0].contains(&x[[i, 1]])))
        .collect();
    let w = [1.0, 1.0];
    let mut s = settings(Loss::LogLoss);
    s.max_leaves = 4;
    s.n_estimators = 30;
    let fit = fit(
        &x,
        &[None, Some(20)],
        &Labels::Classes {
            index: &y,
            classes: 2,
            weights: &w,
        },
        &s,
        None,
    );
    // (a split cannot send the missing rows alone to one side: the lowest value bin goes
    // with them, so a few rows stay wrong)
    let acc = accuracy(&fit.ensemble, &x, &y, 2);
    assert!(acc > 0.995, "{acc}");
    let first = &fit.ensemble.trees[0];
    let cat = first
        .nodes
        .iter()
        .find(|n| n.feature == 1)
        .expect("a category split");
    let mut set = cat.categories.clone();
    if !cat.missing_left && set.len() > 4 {
        // the complement went left
        set = (0..20).filter(|c| !set.contains(c)).collect();
    }
    assert_eq!(set, vec![2, 5, 11, 17]);
    let miss = first
        .nodes
        .iter()
        .find(|n| n.feature == 0)
        .expect("a split on x");
    assert!(miss.threshold.is_some());
}

#[test]
fn early_stopping_keeps_the_best_round_on_rows_it_did_not_train_on() {
    // pure noise: the validation loss stops improving almost at once
    let n = 5000;
    let u = uniform(9, 2 * n);
    let x = Array2::from_shape_fn((n, 1), |(i, _)| u[2 * i]);
    let y: Vec<u32> = (0..n).map(|i| u32::from(u[2 * i + 1] < 0.5)).collect();
    let w = [1.0, 1.0];
    let mut s = settings(Loss::LogLoss);
    s.n_estimators = 500;
    s.early_stopping = Some(EarlyStopping {
        validation_fraction: 0.1,
        rounds: 10,
        tol: 1e-7,
    });
    let fit = fit(
        &x,
        &[None],
        &Labels::Classes {
            index: &y,
            classes: 2,
            weights: &w,
        },
        &s,
        None,
    );
    assert!(fit.rounds < 40, "stopped after {} rounds", fit.rounds);
    assert_eq!(fit.validation.map(|v| v.0), Some(500));
    assert_eq!(fit.ensemble.trees.len(), fit.rounds);
}

#[test]
fn a_warm_start_keeps_the_trees_and_continues_from_their_scores() {
    let (x, y) = xor(4000, 11);
    let w = [1.0, 1.0];
    let labels = Labels::Classes {
        index: &y,
        classes: 2,
        weights: &w,
    };
    let mut s = settings(Loss::LogLoss);
    s.n_estimators = 5;
    let first = fit(&x, &[None, None], &labels, &s, None);
    let more = fit(&x, &[None, None], &labels, &s, Some(&first.ensemble));
    assert_eq!(more.ensemble.trees.len(), 10);
    assert_eq!(more.rounds, 5);
    assert_eq!(&more.ensemble.trees[..5], &first.ensemble.trees[..]);
    assert_eq!(more.ensemble.base_score, first.ensemble.base_score);
    // ten rounds in two fits are ten rounds in one (the same data, no sampling)
    s.n_estimators = 10;
    let once = fit(&x, &[None, None], &labels, &s, None);
    let (a, b) = (more.ensemble.raw(&x), once.ensemble.raw(&x));
    assert!(a.iter().zip(b.iter()).all(|(a, b)| (a - b).abs() < 1e-4));
}
