"""Community tasks: read comments and votes; add them (public and permanent, so only on purpose)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import VoteVerdict
from prefect_virustotal.client.models import CommentObject, VoteObject


@task(name="VirusTotal: list comments", retries=0, cache_policy=NO_CACHE)
async def list_comments(
    indicator: str, limit: int = 20, *, credentials: VirusTotalCredentials
) -> list[CommentObject]:
    """Community comments on a file, URL, domain or IP address, newest first.

    Example:
        ```python
        comments = await list_comments("evil[.]example", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        comments = [c async for c in vt.community.comments(indicator, limit=limit)]
    get_run_logger().info("%d comments", len(comments))
    return comments


@task(name="VirusTotal: list votes", retries=0, cache_policy=NO_CACHE)
async def list_votes(
    indicator: str, limit: int = 20, *, credentials: VirusTotalCredentials
) -> list[VoteObject]:
    """Community votes on a file, URL, domain or IP address.

    Example:
        ```python
        votes = await list_votes(sha256, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        votes = [v async for v in vt.community.votes(indicator, limit=limit)]
    get_run_logger().info("%d votes", len(votes))
    return votes


@task(name="VirusTotal: add comment", retries=0, cache_policy=NO_CACHE)
async def add_comment(indicator: str, text: str, *, credentials: VirusTotalCredentials) -> CommentObject:
    """Publish a comment on an object. Every VirusTotal user will see it, under your user name.

    Never retried: a repeat would publish it twice.

    Example:
        ```python
        await add_comment(sha256, "Seen in IR-2041 #phishing", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        comment = await vt.community.add_comment(indicator, text)
    get_run_logger().info("comment %s published", comment.id)
    return comment


@task(name="VirusTotal: add vote", retries=0, cache_policy=NO_CACHE)
async def add_vote(indicator: str, verdict: VoteVerdict, *, credentials: VirusTotalCredentials) -> VoteObject:
    """Cast a public vote (``malicious`` or ``harmless``) on an object.

    Example:
        ```python
        await add_vote("evil[.]example", "malicious", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        vote = await vt.community.add_vote(indicator, verdict)
    get_run_logger().info("vote %s cast: %s", vote.id, verdict)
    return vote
