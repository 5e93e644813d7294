//! Shadow evaluation in the pull request (`evaluation.shadow`), end to end: each later
//! `retrain run` reads the open candidate from its branch over HTTPS, scores it and the
//! champion on the labelled rows newer than its snapshot, and brings the pull request
//! up to date (body section, check run, ready for review, closed when beaten) on the
//! GitHub test server behind prism.

use crate::promote::{merge, more_data};
use crate::publish::{commit_and_push, run, setup, Setup};
use crate::support::git;

/// The model of `publish::setup`, with a new-data trigger, gates every fit passes and a
/// shadow period of `min_rows` newer rows under `gates`.
fn configure(s: &Setup, min_rows: u64, gates: &str, close_when_beaten: bool) {
    std::fs::write(
        s.work.join("retrain.yaml"),
        format!(
            "version: 1\nmodels:\n  - name: churn\n    task: classification\n    target: label\n    time_column: ts\n    data: {{ path: data/*.parquet }}\n    triggers: {{ new_data: {{ min_rows: 1 }} }}\n    evaluation:\n      intervals: {{ resamples: 50 }}\n      gates: [ {{ metric: accuracy, min: 0.5 }} ]\n      shadow: {{ min_rows: {min_rows}, gates: {gates}, close_when_beaten: {close_when_beaten} }}\n"
        ),
    )
    .unwrap();
    commit_and_push(s, "shadow evaluation");
}

/// v1 merged (no shadow: nothing to compare with), then v2 proposed on new data.
fn champion_and_candidate(s: &Setup) -> (u64, serde_json::Value) {
    let v1 = run(s, &[]);
    let pr1 = &v1["pull_request"];
    assert_eq!(pr1["operation"], "created", "{v1}");
    let first = s.server.world.lock().unwrap().prs[0].clone();
    assert!(
        !first.draft,
        "no champion yet: no shadow period, not a draft"
    );
    merge(
        s,
        pr1["branch"].as_str().unwrap(),
        pr1["number"].as_u64().unwrap(),
    );
    more_data(s, 3, "b");
    let v2 = run(s, &[]);
    assert_eq!(v2["pull_request"]["operation"], "created", "{v2}");
    (v2["pull_request"]["number"].as_u64().unwrap(), v2)
}

fn pr(s: &Setup, number: u64) -> crate::support::github::Pr {
    let w = s.server.world.lock().unwrap();
    w.prs.iter().find(|p| p.number == number).unwrap().clone()
}

fn last_check(s: &Setup) -> serde_json::Value {
    s.server
        .world
        .lock()
        .unwrap()
        .check_runs
        .last()
        .unwrap()
        .clone()
}

/// The newest check run whose title holds `needle`.
fn check_titled(s: &Setup, needle: &str) -> serde_json::Value {
    let w = s.server.world.lock().unwrap();
    w.check_runs
        .iter()
        .rev()
        .find(|c| {
            c["output"]["title"]
                .as_str()
                .unwrap_or_default()
                .contains(needle)
        })
        .unwrap_or_else(|| panic!("no check run titled `{needle}`: {:?}", w.check_runs))
        .clone()
}

#[test]
fn a_candidate_waits_as_a_draft_until_it_beats_the_champion_on_newer_rows() {
    let s = setup();
    configure(
        &s,
        1500,
        "[ { metric: accuracy, min_change: -0.2 } ]",
        false,
    );
    let (number, v2) = champion_and_candidate(&s);
    // opened as a draft, its check pending, waiting for newer rows
    let p = pr(&s, number);
    assert!(p.draft, "{v2}");
    assert!(p.body.contains("**Pending**: 0 of 1500"), "{}", p.body);
    let check = last_check(&s);
    assert_eq!(check["status"], "in_progress", "{check}");

    // no new data: the shadow evaluation has nothing to say; nothing changes
    let again = run(&s, &[]);
    assert_eq!(again["shadow"]["status"], "pending", "{again}");
    assert_eq!(again["shadow"]["operation"], "unchanged", "{again}");
    assert_eq!(again["shadow"]["rows"], 0);

    // 1000 newer rows: both scored on them; the new data would retrain, but the open
    // candidate's shadow period holds it
    more_data(&s, 4, "c");
    let third = run(&s, &[]);
    let sh = &third["shadow"];
    assert_eq!(
        (
            sh["status"].as_str(),
            sh["rows"].as_u64(),
            sh["candidate"].as_u64()
        ),
        (Some("pending"), Some(1000), Some(2)),
        "{third}"
    );
    assert_eq!(sh["operation"], "updated");
    assert!(sh["evaluation"]["champion"]["accuracy"].is_number(), "{sh}");
    assert!(
        sh["evaluation"]["intervals"]["accuracy"]["diff"]["low"].is_number(),
        "{sh}"
    );
    assert_eq!(third["decision"]["retrain"], false, "{third}");
    let held = third["decision"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "shadow")
        .unwrap_or_else(|| panic!("{third}"));
    assert_eq!(held["fired"], true, "{held}");
    assert!(
        third.get("pull_request").is_none_or(|p| p.is_null()),
        "{third}"
    );
    let p = pr(&s, number);
    assert!(p.draft);
    assert!(p.body.contains("**Pending**: 1000 of 1500"), "{}", p.body);
    assert!(p.body.contains("| accuracy |"), "{}", p.body);
    // the rest of the body is the proposal's, once
    assert_eq!(p.body.matches("<!-- retrain:shadow -->").count(), 1);
    assert!(p.body.contains("<!-- retrain:{"), "{}", p.body);
    assert_eq!(last_check(&s)["status"], "in_progress");

    // 2000 newer rows: passed; ready for review, check green
    more_data(&s, 5, "d");
    let fourth = run(&s, &[]);
    assert_eq!(fourth["shadow"]["status"], "passed", "{fourth}");
    assert_eq!(fourth["shadow"]["operation"], "ready", "{fourth}");
    assert_eq!(fourth["shadow"]["rows"], 2000);
    assert_eq!(
        fourth["decision"]["retrain"], false,
        "passed and waiting for review: held"
    );
    let p = pr(&s, number);
    assert!(!p.draft, "marked ready for review");
    assert!(p.body.contains("**Passed**"), "{}", p.body);
    let check = last_check(&s);
    assert_eq!(
        (check["status"].as_str(), check["conclusion"].as_str()),
        (Some("completed"), Some("success")),
        "{check}"
    );
    // the check run is on the branch head the candidate was read from
    let head = git(
        &s.work,
        &["ls-remote", "origin", &format!("refs/heads/{}", p.head)],
    );
    assert!(
        head.starts_with(check["head_sha"].as_str().unwrap()),
        "{head} {check}"
    );

    // a re-run converges: nothing more to do; the text output says where it stands
    let fifth = run(&s, &[]);
    assert_eq!(fifth["shadow"]["operation"], "unchanged", "{fifth}");
    let (code, text, err) = crate::promote::retrain(&s, &["run", "--now", "2025-06-01T00:00:00Z"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains(&format!(
            "shadow evaluation of the open candidate v2 (#{number}): passed on 2000 newer labelled rows"
        )),
        "{text}"
    );

    // --force overrides the hold: a newer candidate supersedes the open one and starts
    // its own shadow period
    let forced = run(&s, &["--force"]);
    assert_eq!(forced["pull_request"]["operation"], "created", "{forced}");
    assert_eq!(forced["pull_request"]["superseded"][0], number, "{forced}");
    let newer = pr(&s, forced["pull_request"]["number"].as_u64().unwrap());
    assert!(newer.draft && newer.body.contains("**Pending**: 0 of 1500"));
}

#[test]
fn a_beaten_candidate_is_closed_when_asked_and_the_next_one_may_come() {
    let s = setup();
    // a bar no candidate clears: 30 points better than the champion out of time
    configure(&s, 500, "[ { metric: accuracy, min_change: 0.3 } ]", true);
    let (number, _) = champion_and_candidate(&s);
    more_data(&s, 4, "c");
    let third = run(&s, &[]);
    assert_eq!(third["shadow"]["status"], "failed", "{third}");
    assert_eq!(third["shadow"]["operation"], "closed", "{third}");
    let p = pr(&s, number);
    assert_eq!(p.state, "closed");
    assert!(
        p.comments.iter().any(|c| c.contains("beat this candidate")),
        "{:?}",
        p.comments
    );
    assert!(p.body.contains("**Beaten**"), "{}", p.body);
    let check = check_titled(&s, "beaten");
    assert_eq!(check["conclusion"], "failure", "{check}");
    // beaten: no hold; the new data retrains in the same run, a new candidate is proposed
    assert_eq!(third["decision"]["retrain"], true, "{third}");
    assert_eq!(third["pull_request"]["operation"], "created", "{third}");
}

/// Bad input: the candidate's artifact on its branch does not match the digest its
/// registry pointer records (someone pushed over it), or is gone from the branch.
/// Shadow evaluation refuses it and says so, and scores nothing.
#[test]
fn a_candidate_whose_artifact_is_altered_or_missing_is_refused() {
    let s = setup();
    configure(&s, 500, "[ { metric: accuracy, min_change: -0.2 } ]", false);
    let (number, v2) = champion_and_candidate(&s);
    let branch = v2["pull_request"]["branch"].as_str().unwrap();
    // a person rewrites the artifact on the branch
    let person = s.root.path().join("person");
    git(
        s.root.path(),
        &[
            "clone",
            "-q",
            "-b",
            branch,
            s.origin.to_str().unwrap(),
            person.to_str().unwrap(),
        ],
    );
    let artifact = person.join("models/churn/versions/2/model.json");
    let mut bytes = std::fs::read(&artifact).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&artifact, bytes).unwrap();
    git(&person, &["commit", "-q", "-am", "edit the model"]);
    git(&person, &["push", "-q", "origin", branch]);
    more_data(&s, 4, "c");
    let third = run(&s, &[]);
    let sh = &third["shadow"];
    assert_eq!(sh["status"], "refused", "{third}");
    assert!(sh["reason"].as_str().unwrap().contains("digest"), "{sh}");
    assert!(sh.get("evaluation").is_none(), "nothing was scored: {sh}");
    let p = pr(&s, number);
    assert!(p.body.contains("**Refused**"), "{}", p.body);
    assert_eq!(check_titled(&s, "refused")["conclusion"], "failure");

    // refused holds nothing back: the new data retrained, a new v2 (main's champion is
    // still v1) supersedes the refused one; then its artifact is deleted from its branch
    assert_eq!(third["pull_request"]["operation"], "created", "{third}");
    assert_eq!(third["pull_request"]["superseded"][0], number, "{third}");
    let v3 = third["pull_request"]["branch"].as_str().unwrap();
    git(&person, &["fetch", "-q", "origin", v3]);
    git(&person, &["checkout", "-q", "-b", "v3", "FETCH_HEAD"]);
    git(&person, &["rm", "-q", "models/churn/versions/2/model.json"]);
    git(&person, &["commit", "-q", "-m", "drop the model"]);
    git(
        &person,
        &["push", "-q", "origin", &format!("HEAD:refs/heads/{v3}")],
    );
    more_data(&s, 5, "d");
    let fourth = run(&s, &[]);
    let sh = &fourth["shadow"];
    assert_eq!(
        (sh["status"].as_str(), sh["candidate"].as_u64()),
        (Some("refused"), Some(2)),
        "{fourth}"
    );
    assert!(
        sh["reason"]
            .as_str()
            .unwrap()
            .contains("models/churn/versions/2/model.json` is not on its branch"),
        "{sh}"
    );

    // the open pull request's branch deleted under it: refused, the run goes on
    let newest = fourth["pull_request"]["branch"].as_str().unwrap();
    git(&person, &["push", "-q", "origin", "--delete", newest]);
    more_data(&s, 6, "e");
    let fifth = run(&s, &[]);
    let sh = &fifth["shadow"];
    assert_eq!(sh["status"], "refused", "{fifth}");
    assert!(
        sh["reason"].as_str().unwrap().contains("cannot be fetched"),
        "{sh}"
    );
}
