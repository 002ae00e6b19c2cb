//! API keys, authentication and rate limits, domains, suppressions.

use resend_rs::list_opts::ListOptions;
use resend_rs::types::{
    AddSuppressionOptions, BatchAddSuppressionOptions, BatchRemoveSuppressionOptions,
    CreateApiKeyOptions, CreateDomainOptions, DomainChanges, DomainRecord, DomainStatus, Region,
    SuppressionOrigin, UpdateApiKeyOptions,
};
use resend_rs::{Error, Resend};

use crate::{
    Runner, UNKNOWN_ID, client, ensure, ensure_eq, expect_error, is_resource_time, need, sdk,
};

pub async fn api_keys(r: &mut Runner, resend: &Resend, base: &str) {
    let full = r
        .check(
            "api-keys: create a full-access key (id + re_ token)",
            async {
                let key = sdk(resend
                    .api_keys
                    .create(CreateApiKeyOptions::new("compat rust full"))
                    .await)?;
                ensure(key.token.starts_with("re_"), format!("token {}", key.token))?;
                Ok(key)
            },
        )
        .await;

    r.check("api-keys: the new token authenticates", async {
        let key = need(&full)?;
        let _listed = sdk(client(base, &key.token)
            .api_keys
            .list(ListOptions::default())
            .await)?;
        Ok(())
    })
    .await;

    r.check("api-keys: list shows the key with its timestamps", async {
        let key = need(&full)?;
        let list = sdk(resend.api_keys.list(ListOptions::default()).await)?;
        let found = list
            .data
            .iter()
            .find(|k| k.id == key.id)
            .ok_or("created key is listed")?;
        ensure_eq(found.name.as_str(), "compat rust full", "name")?;
        ensure(
            is_resource_time(&found.created_at),
            format!("created_at {}", found.created_at),
        )?;
        Ok(())
    })
    .await;

    r.check("api-keys: list with limit 1 pages (has_more)", async {
        let page = sdk(resend
            .api_keys
            .list(ListOptions::default().with_limit(1))
            .await)?;
        ensure_eq(page.len(), 1, "page size")?;
        ensure(page.has_more, "has_more")?;
        let next = sdk(resend
            .api_keys
            .list(ListOptions::default().with_limit(1).list_after(&page[0].id))
            .await)?;
        ensure(
            next.data.iter().all(|k| k.id != page[0].id),
            "the next page moves on",
        )
    })
    .await;

    r.check("api-keys: rename", async {
        let key = need(&full)?;
        let updated = sdk(resend
            .api_keys
            .update(&key.id, UpdateApiKeyOptions::new("compat rust renamed"))
            .await)?;
        ensure_eq(&updated.id, &key.id, "id")
    })
    .await;

    r.check(
        "api-keys: missing name → 422 missing_required_field",
        async {
            expect_error(
                resend.api_keys.create(CreateApiKeyOptions::new("")).await,
                422,
                &["missing_required_field", "validation_error"],
            )?;
            Ok(())
        },
    )
    .await;

    r.check(
        "api-keys: sending key for an unknown domain → 404 not_found",
        async {
            let options = CreateApiKeyOptions::new("compat rust sending")
                .with_sending_access()
                .with_domain_access(&resend_rs::types::DomainId::new(UNKNOWN_ID));
            expect_error(resend.api_keys.create(options).await, 404, &["not_found"])?;
            Ok(())
        },
    )
    .await;

    r.check("api-keys: remove, then the token no longer works", async {
        let key = need(&full)?;
        sdk(resend.api_keys.delete(&key.id).await)?;
        let after = client(base, &key.token)
            .api_keys
            .list(ListOptions::default())
            .await;
        expect_error(after, 403, &["invalid_api_key"])?;
        Ok(())
    })
    .await;

    r.check("api-keys: remove an unknown key → 404 not_found", async {
        expect_error(
            resend.api_keys.delete(UNKNOWN_ID).await,
            404,
            &["not_found"],
        )?;
        Ok(())
    })
    .await;
}

pub async fn authentication(r: &mut Runner, resend: &Resend, base: &str) {
    r.check("auth: no key → 401 missing_api_key", async {
        expect_error(
            client(base, "").domains.list(ListOptions::default()).await,
            401,
            &["missing_api_key"],
        )?;
        Ok(())
    })
    .await;

    r.check("auth: unknown key → 403 invalid_api_key", async {
        let stranger = client(base, "re_unknown1_abcdefghijklmnopqrstuvwx");
        expect_error(
            stranger.domains.list(ListOptions::default()).await,
            403,
            &["invalid_api_key"],
        )?;
        Ok(())
    })
    .await;

    r.check(
        "auth: a sending key on a full-access route → 401 restricted_api_key",
        async {
            let key = sdk(resend
                .api_keys
                .create(CreateApiKeyOptions::new("compat rust sender").with_sending_access())
                .await)?;
            let sender = client(base, &key.token);
            let reply = sender.api_keys.list(ListOptions::default()).await;
            sdk(resend.api_keys.delete(&key.id).await)?;
            expect_error(reply, 401, &["restricted_api_key"])?;
            Ok(())
        },
    )
    .await;

    r.check(
        "auth: unknown route id → 404 not_found in Resend's error body",
        async {
            expect_error(resend.domains.get(UNKNOWN_ID).await, 404, &["not_found"])?;
            Ok(())
        },
    )
    .await;

    let (Ok(limited_url), Ok(limited_key)) = (
        std::env::var("HERALD_COMPAT_LIMITED_URL"),
        std::env::var("HERALD_COMPAT_LIMITED_KEY"),
    ) else {
        return;
    };
    r.check(
        "rate limit: a burst over 1 request/s → Error::RateLimit with the headers",
        async {
            let limited = client(&limited_url, &limited_key);
            for _ in 0..5 {
                match limited.domains.list(ListOptions::default()).await {
                    Err(Error::RateLimit {
                        ratelimit_limit,
                        ratelimit_remaining,
                        ratelimit_reset,
                    }) => {
                        ensure_eq(ratelimit_limit, Some(1), "ratelimit-limit")?;
                        ensure_eq(ratelimit_remaining, Some(0), "ratelimit-remaining")?;
                        ensure(ratelimit_reset.is_some(), "ratelimit-reset")?;
                        return Ok(());
                    }
                    Err(other) => return Err(format!("unexpected error {other:?}")),
                    Ok(_) => {}
                }
            }
            Err("five quick requests never met the limit".into())
        },
    )
    .await;
}

pub async fn domains(r: &mut Runner, resend: &Resend) {
    let created = r
        .check(
            "domains: create with region, return path and tracking (records decode)",
            async {
                let options = CreateDomainOptions::new("updates.rust-compat.example")
                    .with_region(Region::EuWest1)
                    .with_custom_return_path("outbound")
                    .with_open_tracking(true)
                    .with_click_tracking(false)
                    .with_tracking_subdomain("links");
                let domain = sdk(resend.domains.create(options).await)?;
                ensure_eq(domain.name.as_str(), "updates.rust-compat.example", "name")?;
                ensure(
                    matches!(domain.region, Region::EuWest1),
                    format!("region {:?}", domain.region),
                )?;
                ensure(
                    matches!(domain.status, DomainStatus::NotStarted),
                    format!("status {:?}", domain.status),
                )?;
                let records = domain.records.clone().ok_or("records are missing")?;
                ensure(
                    records
                        .iter()
                        .any(|r| matches!(r, DomainRecord::DomainSpfRecord(_))),
                    "an SPF record",
                )?;
                ensure(
                    records
                        .iter()
                        .any(|r| matches!(r, DomainRecord::DomainDkimRecord(_))),
                    "a DKIM record",
                )?;
                ensure(
                    records
                        .iter()
                        .any(|r| matches!(r, DomainRecord::TrackingRecord(_))),
                    "a Tracking record",
                )?;
                Ok(domain)
            },
        )
        .await;

    r.check("domains: get", async {
        let domain = need(&created)?;
        let got = sdk(resend.domains.get(&domain.id).await)?;
        ensure_eq(&got.id, &domain.id, "id")?;
        ensure_eq(got.open_tracking, Some(true), "open_tracking")?;
        Ok(())
    })
    .await;

    r.check("domains: list (and the default region)", async {
        let domain = need(&created)?;
        let second = sdk(resend
            .domains
            .create(CreateDomainOptions::new("second.rust-compat.example"))
            .await)?;
        ensure(
            matches!(second.region, Region::UsEast1),
            format!("default region {:?}", second.region),
        )?;
        let list = sdk(resend.domains.list(ListOptions::default()).await)?;
        ensure(
            list.data.iter().any(|d| d.id == domain.id),
            "created domain is listed",
        )?;
        let page = sdk(resend
            .domains
            .list(ListOptions::default().with_limit(1))
            .await)?;
        ensure(page.has_more && page.len() == 1, "limit 1 pages")?;
        sdk(resend.domains.delete(&second.id).await)?;
        Ok(())
    })
    .await;

    r.check("domains: update tracking", async {
        let domain = need(&created)?;
        let changes = DomainChanges::new()
            .with_click_tracking(true)
            .with_open_tracking(false);
        let updated = sdk(resend.domains.update(&domain.id, changes).await)?;
        ensure_eq(&updated.id, &domain.id, "id")?;
        let got = sdk(resend.domains.get(&domain.id).await)?;
        ensure_eq(
            (got.click_tracking, got.open_tracking),
            (Some(true), Some(false)),
            "tracking",
        )
    })
    .await;

    r.check("domains: verify", async {
        let domain = need(&created)?;
        let verified = sdk(resend.domains.verify(&domain.id).await)?;
        ensure_eq(&verified.id, &domain.id, "id")
    })
    .await;

    r.check("domains: unknown region → 422 invalid_region", async {
        // The SDK's Region enum only has Resend's regions, so ask for an unknown one raw.
        let reply = resend
            .send_raw(
                resend_rs::Method::POST,
                "/domains",
                None::<()>,
                Some(serde_json::json!({"name": "eu.rust-compat.example", "region": "mars-1"})),
                None,
            )
            .await;
        expect_error(reply, 422, &["invalid_region"])?;
        Ok(())
    })
    .await;

    r.check("domains: missing name → 422", async {
        expect_error(
            resend.domains.create(CreateDomainOptions::new("")).await,
            422,
            &["missing_required_field", "validation_error"],
        )?;
        Ok(())
    })
    .await;

    r.check("domains: remove, then get → 404 not_found", async {
        let domain = need(&created)?;
        let deleted = sdk(resend.domains.delete(&domain.id).await)?;
        ensure(deleted.deleted, "deleted")?;
        expect_error(resend.domains.get(&domain.id).await, 404, &["not_found"])?;
        Ok(())
    })
    .await;
}

pub async fn suppressions(r: &mut Runner, resend: &Resend) {
    let added = r
        .check("suppressions: add an address", async {
            let added = sdk(resend
                .suppressions
                .add(AddSuppressionOptions::new().with_email("blocked@rust-compat.example"))
                .await)?;
            Ok(added.id.to_string())
        })
        .await;

    r.check(
        "suppressions: get by id and by email (origin manual)",
        async {
            let id = need(&added)?;
            let by_id = sdk(resend.suppressions.get(&id).await)?;
            ensure_eq(by_id.email.as_str(), "blocked@rust-compat.example", "email")?;
            ensure(
                matches!(by_id.origin, SuppressionOrigin::Manual),
                format!("origin {:?}", by_id.origin),
            )?;
            let by_email = sdk(resend.suppressions.get("blocked@rust-compat.example").await)?;
            ensure_eq(by_email.id.to_string(), id, "id")
        },
    )
    .await;

    r.check("suppressions: list", async {
        let id = need(&added)?;
        let list = sdk(resend.suppressions.list(ListOptions::default()).await)?;
        ensure(list.data.iter().any(|s| s.id.to_string() == id), "listed")
    })
    .await;

    r.check(
        "suppressions: batch add and batch remove by emails and by ids",
        async {
            let emails = [
                "one@rust-compat.example",
                "two@rust-compat.example",
                "three@rust-compat.example",
            ];
            let added = sdk(resend
                .suppressions
                .batch_add(BatchAddSuppressionOptions::new().add_emails(emails))
                .await)?;
            ensure_eq(added.data.len(), 3, "added")?;
            let removed = sdk(resend
                .suppressions
                .batch_remove(
                    BatchRemoveSuppressionOptions::new().add_emails(emails[..2].iter().copied()),
                )
                .await)?;
            ensure(
                removed.data.len() == 2 && removed.data.iter().all(|d| d.deleted),
                format!("{removed:?}"),
            )?;
            let last = added.data[2].id.to_string();
            let removed = sdk(resend
                .suppressions
                .batch_remove(BatchRemoveSuppressionOptions::new().add_ids([last]))
                .await)?;
            ensure_eq(removed.data.len(), 1, "removed by id")
        },
    )
    .await;

    r.check("suppressions: remove, then get → 404 not_found", async {
        let id = need(&added)?;
        let removed = sdk(resend.suppressions.remove(&id).await)?;
        ensure(removed.deleted, "deleted")?;
        expect_error(resend.suppressions.get(&id).await, 404, &["not_found"])?;
        Ok(())
    })
    .await;

    r.check("suppressions: add an invalid address → 422", async {
        expect_error(
            resend
                .suppressions
                .add(AddSuppressionOptions::new().with_email("not an address"))
                .await,
            422,
            &["validation_error", "invalid_parameter"],
        )?;
        Ok(())
    })
    .await;
}
