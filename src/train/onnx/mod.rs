//! `model.onnx`: a model and the preprocessing that travels with it as one standard ONNX
//! graph (opset 17, ONNX-ML 3), so that ONNX Runtime, Triton or any ONNX consumer can
//! serve it without retrain.
//!
//! - **Inputs**: one per input column, named after it, shape `[N, 1]`: `float` for
//!   numeric columns (NaN = missing), `string` for categorical ones (`""` = missing).
//! - **Preprocessing**: standardisation with mean imputation (`IsNaN`/`IsInf`, `Sub`,
//!   `Div`, `Where`), one-hot with the `other` column (`LabelEncoder`, `Equal`, `Cast`),
//!   tree inputs as they are (a category as its code, `LabelEncoder`); a category-set
//!   split of a tree becomes a 0/1 input of its own (`LabelEncoder`: is the value in the
//!   set), which the tree compares with 0.5, so every tree node is a standard `BRANCH_LT`.
//! - **Model**: `TreeEnsembleRegressor` (raw scores, `SUM`) for gradient boosting and
//!   random forests, then `Sigmoid` / `Softmax` / the forest's mean; `MatMul` + `Add`
//!   (+ `Sigmoid` / `Softmax`) for the linear models.
//! - **Outputs**: classification `label` (`[N]`, string) and `probabilities` (`[N,
//!   classes]`, float, in `classes` order); regression `prediction` (`[N, 1]`).
//!
//! ONNX computes in f32 (thresholds, leaf values and weights are rounded to f32), so its
//! outputs match retrain's within float rounding (tests hold them to 1e-5 on
//! probabilities with ONNX Runtime). Not exported: `gaussian_nb` (linfa's own
//! serialisation), `decision_tree` (its thresholds are f64 midpoints of standardised
//! values, so an f32 consumer can send a row at a threshold the other way), and external
//! trainers (their model is whatever their command wrote).

pub mod proto;

use proto::{Attr, Data, Elem, Writer};

use super::boost::ensemble::{Ensemble, Link};
use super::model::{algorithm_name, Estimator, ModelArtifact};
use super::preprocess::Step;
use crate::config::Task;

#[derive(Debug, thiserror::Error)]
#[error("{algorithm} models are not exported to ONNX: {why}")]
pub struct NotExportable {
    pub algorithm: &'static str,
    pub why: &'static str,
}

const ML: &str = "ai.onnx.ml";

struct Graph {
    nodes: Vec<Writer>,
    inits: Vec<Writer>,
    inputs: Vec<Writer>,
    outputs: Vec<Writer>,
    next: usize,
}

impl Graph {
    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_{}", self.next)
    }

    /// Adds a node with one output and returns its name.
    fn op(&mut self, op: &str, domain: &str, inputs: &[&str], attrs: &[(&str, Attr)]) -> String {
        let out = self.fresh(&op.to_lowercase());
        self.op_into(op, domain, inputs, &out, attrs);
        out
    }

    fn op_into(
        &mut self,
        op: &str,
        domain: &str,
        inputs: &[&str],
        out: &str,
        attrs: &[(&str, Attr)],
    ) {
        let name = self.fresh(op);
        self.nodes
            .push(proto::node(op, domain, &name, inputs, &[out], attrs));
    }

    fn constant(&mut self, dims: &[i64], data: Data) -> String {
        let name = self.fresh("const");
        self.inits.push(proto::tensor(&name, dims, &data));
        name
    }
}

/// The ONNX model of an artifact.
pub fn export(a: &ModelArtifact) -> Result<Vec<u8>, NotExportable> {
    let not = |why| NotExportable {
        algorithm: algorithm_name(a.algorithm),
        why,
    };
    match &a.estimator {
        Estimator::GaussianNb { .. } => return Err(not("linfa's Gaussian naive Bayes is stored in linfa's own form")),
        Estimator::Tree { .. } => return Err(not("the tree's thresholds are f64 midpoints of standardised values, which an f32 consumer can read the other way")),
        Estimator::External { .. } => return Err(not("an external trainer's model is whatever its command wrote")),
        _ => {}
    }
    let mut g = Graph {
        nodes: Vec::new(),
        inits: Vec::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        next: 0,
    };
    // inputs and the design columns
    let mut design: Vec<String> = Vec::new();
    for step in &a.preprocessing.steps {
        let column = step.column();
        match step {
            Step::Numeric { mean, scale, .. } => {
                g.inputs
                    .push(proto::value_info(column, Elem::Float, &[None, Some(1)]));
                let nan = g.op("IsNaN", "", &[column], &[]);
                let inf = g.op("IsInf", "", &[column], &[]);
                let bad = g.op("Or", "", &[&nan, &inf], &[]);
                let m = g.constant(&[], Data::Float(vec![*mean as f32]));
                let s = g.constant(&[], Data::Float(vec![*scale as f32]));
                let zero = g.constant(&[], Data::Float(vec![0.0]));
                let centred = g.op("Sub", "", &[column, &m], &[]);
                let z = g.op("Div", "", &[&centred, &s], &[]);
                design.push(g.op("Where", "", &[&bad, &zero, &z], &[]));
            }
            Step::Value { .. } => {
                g.inputs
                    .push(proto::value_info(column, Elem::Float, &[None, Some(1)]));
                design.push(column.to_string());
            }
            Step::OneHot { categories, .. } => {
                g.inputs
                    .push(proto::value_info(column, Elem::String, &[None, Some(1)]));
                let c = categories.len() as i64;
                let code = g.op(
                    "LabelEncoder",
                    ML,
                    &[column],
                    &[
                        ("keys_strings", Attr::Strs(categories.clone())),
                        ("values_int64s", Attr::Ints((0..c).collect())),
                        ("default_int64", Attr::Int(c)),
                    ],
                );
                let all = g.constant(&[c + 1], Data::Int64((0..=c).collect()));
                let hot = g.op("Equal", "", &[&code, &all], &[]);
                design.push(g.op(
                    "Cast",
                    "",
                    &[&hot],
                    &[("to", Attr::Int(Elem::Float as i64))],
                ));
            }
            Step::Code { categories, .. } => {
                g.inputs
                    .push(proto::value_info(column, Elem::String, &[None, Some(1)]));
                let (mut keys, mut values) = (
                    categories.clone(),
                    (0..categories.len()).map(|i| i as f32).collect::<Vec<_>>(),
                );
                if !categories.iter().any(|c| c.is_empty()) {
                    keys.push(String::new());
                    values.push(f32::NAN);
                }
                design.push(g.op(
                    "LabelEncoder",
                    ML,
                    &[column],
                    &[
                        ("keys_strings", Attr::Strs(keys)),
                        ("values_floats", Attr::Floats(values)),
                        ("default_float", Attr::Float(categories.len() as f32)),
                    ],
                ));
            }
        }
    }
    let k = a.classes.len();
    match &a.estimator {
        Estimator::Ensemble(e) => ensemble(&mut g, a, e, design)?,
        Estimator::Linear { weights, intercept } => {
            let x = concat(&mut g, &design);
            let w = g.constant(
                &[weights.len() as i64, 1],
                Data::Float(weights.iter().map(|v| *v as f32).collect()),
            );
            let b = g.constant(&[1], Data::Float(vec![*intercept as f32]));
            let xw = g.op("MatMul", "", &[&x, &w], &[]);
            let z = g.op("Add", "", &[&xw, &b], &[]);
            match a.task {
                Task::Regression => finish_regression(&mut g, &z),
                Task::Classification => {
                    let p1 = g.op("Sigmoid", "", &[&z], &[]);
                    binary(&mut g, a, &p1);
                }
            }
        }
        Estimator::Softmax {
            weights,
            intercepts,
        } => {
            let x = concat(&mut g, &design);
            let width = weights.first().map_or(0, Vec::len);
            let mut wt = vec![0f32; width * k];
            for (c, row) in weights.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    wt[j * k + c] = *v as f32;
                }
            }
            let w = g.constant(&[width as i64, k as i64], Data::Float(wt));
            let b = g.constant(
                &[k as i64],
                Data::Float(intercepts.iter().map(|v| *v as f32).collect()),
            );
            let xw = g.op("MatMul", "", &[&x, &w], &[]);
            let z = g.op("Add", "", &[&xw, &b], &[]);
            let p = g.op("Softmax", "", &[&z], &[("axis", Attr::Int(1))]);
            finish_classification(&mut g, a, &p);
        }
        _ => unreachable!("refused above"),
    }
    Ok(model(g, a))
}

fn concat(g: &mut Graph, parts: &[String]) -> String {
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    g.op("Concat", "", &refs, &[("axis", Attr::Int(1))])
}

fn finish_regression(g: &mut Graph, z: &str) {
    g.op_into("Identity", "", &[z], "prediction", &[]);
    g.outputs.push(proto::value_info(
        "prediction",
        Elem::Float,
        &[None, Some(1)],
    ));
}

/// `[1 - p, p]` from P(classes[1]).
fn binary(g: &mut Graph, a: &ModelArtifact, p1: &str) {
    let one = g.constant(&[], Data::Float(vec![1.0]));
    let p0 = g.op("Sub", "", &[&one, p1], &[]);
    let p = g.op("Concat", "", &[&p0, p1], &[("axis", Attr::Int(1))]);
    finish_classification(g, a, &p);
}

fn finish_classification(g: &mut Graph, a: &ModelArtifact, p: &str) {
    g.op_into("Identity", "", &[p], "probabilities", &[]);
    let idx = g.op(
        "ArgMax",
        "",
        &["probabilities"],
        &[("axis", Attr::Int(1)), ("keepdims", Attr::Int(0))],
    );
    let labels = g.constant(&[a.classes.len() as i64], Data::Str(a.classes.clone()));
    g.op_into("Gather", "", &[&labels, &idx], "label", &[]);
    g.outputs
        .push(proto::value_info("label", Elem::String, &[None]));
    g.outputs.push(proto::value_info(
        "probabilities",
        Elem::Float,
        &[None, Some(a.classes.len() as i64)],
    ));
}

fn ensemble(
    g: &mut Graph,
    a: &ModelArtifact,
    e: &Ensemble,
    mut design: Vec<String>,
) -> Result<(), NotExportable> {
    let k = e.outputs();
    // one 0/1 input per category-set split: is the row's category in the set
    let mut indicator: Vec<Vec<Option<usize>>> = Vec::with_capacity(e.trees.len());
    for tree in &e.trees {
        let mut per_node = Vec::with_capacity(tree.nodes.len());
        for n in &tree.nodes {
            if n.threshold.is_some() {
                per_node.push(None);
                continue;
            }
            let Step::Code { column, categories } = &a.preprocessing.steps[n.feature] else {
                return Err(NotExportable {
                    algorithm: algorithm_name(a.algorithm),
                    why: "a category-set split on a column that is not categorical",
                });
            };
            let other = categories.len() as u32;
            let other_left = n.categories.binary_search(&other).is_ok();
            // keys: the named categories whose side differs from `other`'s
            let mut keys = Vec::new();
            let mut values = Vec::new();
            for (i, c) in categories.iter().enumerate() {
                let left = n.categories.binary_search(&(i as u32)).is_ok();
                if left != other_left {
                    keys.push(c.clone());
                    values.push(f32::from(u8::from(left)));
                }
            }
            if !categories.iter().any(String::is_empty) {
                keys.push(String::new());
                values.push(f32::from(u8::from(n.missing_left)));
            }
            let col = g.op(
                "LabelEncoder",
                ML,
                &[column.as_str()],
                &[
                    ("keys_strings", Attr::Strs(keys)),
                    ("values_floats", Attr::Floats(values)),
                    (
                        "default_float",
                        Attr::Float(f32::from(u8::from(other_left))),
                    ),
                ],
            );
            per_node.push(Some(design.len()));
            design.push(col);
        }
        indicator.push(per_node);
    }
    let x = concat(g, &design);
    let (mut treeids, mut nodeids, mut featureids, mut modes, mut values) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut trues, mut falses, mut missing) = (vec![], vec![], vec![]);
    let (mut t_tree, mut t_node, mut t_id, mut t_w) = (vec![], vec![], vec![], vec![]);
    for (t, tree) in e.trees.iter().enumerate() {
        let m = tree.nodes.len() as i64;
        let id = |child: i32| {
            if child < 0 {
                m + i64::from(-1 - child)
            } else {
                i64::from(child)
            }
        };
        for (i, n) in tree.nodes.iter().enumerate() {
            treeids.push(t as i64);
            nodeids.push(i as i64);
            modes.push("BRANCH_LT".to_string());
            match indicator[t][i] {
                // numeric: left when x < threshold, missing as learned
                None => {
                    featureids.push(n.feature as i64);
                    values.push(n.threshold.unwrap_or(0.0));
                    trues.push(id(n.left));
                    falses.push(id(n.right));
                    missing.push(i64::from(n.missing_left));
                }
                // category set: the indicator is 1 for the left side; 1 < 0.5 is false
                Some(col) => {
                    featureids.push(col as i64);
                    values.push(0.5);
                    trues.push(id(n.right));
                    falses.push(id(n.left));
                    missing.push(0);
                }
            }
        }
        for (l, v) in tree.leaves.iter().enumerate() {
            treeids.push(t as i64);
            nodeids.push(m + l as i64);
            featureids.push(0);
            modes.push("LEAF".to_string());
            values.push(0.0);
            trues.push(0);
            falses.push(0);
            missing.push(0);
            t_tree.push(t as i64);
            t_node.push(m + l as i64);
            t_id.push((t % k) as i64);
            t_w.push(*v as f32);
        }
    }
    let mean = e.combine == super::boost::ensemble::Combine::Mean;
    let raw = g.op(
        "TreeEnsembleRegressor",
        ML,
        &[&x],
        &[
            ("n_targets", Attr::Int(k as i64)),
            ("aggregate_function", Attr::Str("SUM".into())),
            ("post_transform", Attr::Str("NONE".into())),
            (
                "base_values",
                Attr::Floats(e.base_score.iter().map(|v| *v as f32).collect()),
            ),
            ("nodes_treeids", Attr::Ints(treeids)),
            ("nodes_nodeids", Attr::Ints(nodeids)),
            ("nodes_featureids", Attr::Ints(featureids)),
            ("nodes_modes", Attr::Strs(modes)),
            ("nodes_values", Attr::Floats(values)),
            ("nodes_truenodeids", Attr::Ints(trues)),
            ("nodes_falsenodeids", Attr::Ints(falses)),
            ("nodes_missing_value_tracks_true", Attr::Ints(missing)),
            ("target_treeids", Attr::Ints(t_tree)),
            ("target_nodeids", Attr::Ints(t_node)),
            ("target_ids", Attr::Ints(t_id)),
            ("target_weights", Attr::Floats(t_w)),
        ],
    );
    let raw = if mean {
        let per_output = (e.trees.len() / k).max(1) as f32;
        let d = g.constant(&[], Data::Float(vec![per_output]));
        g.op("Div", "", &[&raw, &d], &[])
    } else {
        raw
    };
    match (a.task, e.link) {
        (Task::Regression, _) => finish_regression(g, &raw),
        (_, Link::Logistic) => {
            let p1 = g.op("Sigmoid", "", &[&raw], &[]);
            binary(g, a, &p1);
        }
        (_, Link::Softmax) => {
            let p = g.op("Softmax", "", &[&raw], &[("axis", Attr::Int(1))]);
            finish_classification(g, a, &p);
        }
        (_, _) if k == 1 => {
            let lo = g.constant(&[], Data::Float(vec![0.0]));
            let hi = g.constant(&[], Data::Float(vec![1.0]));
            let p1 = g.op("Clip", "", &[&raw, &lo, &hi], &[]);
            binary(g, a, &p1);
        }
        (_, _) => {
            let pos = g.op("Relu", "", &[&raw], &[]);
            let axes = g.constant(&[1], Data::Int64(vec![1]));
            let s = g.op(
                "ReduceSum",
                "",
                &[&pos, &axes],
                &[("keepdims", Attr::Int(1))],
            );
            let p = g.op("Div", "", &[&pos, &s], &[]);
            finish_classification(g, a, &p);
        }
    }
    Ok(())
}

fn model(g: Graph, a: &ModelArtifact) -> Vec<u8> {
    let mut graph = Writer::default();
    for n in g.nodes {
        graph.message(1, n);
    }
    graph.string(2, &format!("retrain_{}", algorithm_name(a.algorithm)));
    for t in g.inits {
        graph.message(5, t);
    }
    for i in g.inputs {
        graph.message(11, i);
    }
    for o in g.outputs {
        graph.message(12, o);
    }
    let mut m = Writer::default();
    m.int(1, 8); // IR version 8
    for (domain, version) in [("", 17), (ML, 3)] {
        let mut op = Writer::default();
        if !domain.is_empty() {
            op.string(1, domain);
        }
        op.int(2, version);
        m.message(8, op);
    }
    m.string(2, "retrain");
    m.string(3, env!("CARGO_PKG_VERSION"));
    m.message(7, graph);
    m.into_bytes()
}
