"""Collection tasks: IoC collections, their items and comments.

Items are indicator strings of any kind (hashes, URLs, domains, IPs; defanged is fine),
validated before any request. Writes never cache. Item updates are batched inside one task.
"""

from __future__ import annotations

from collections.abc import Sequence

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import COLLECTION_BATCH_SIZE
from prefect_virustotal.client.models import (
    CollectionItems,
    CollectionItemsUpdate,
    CollectionObject,
    CommentObject,
    Descriptor,
)
from prefect_virustotal.core import ClientCollectionSteps


@task(name="VirusTotal: create collection", retries=0, cache_policy=NO_CACHE)
async def create_collection(
    name: str,
    description: str | None = None,
    indicators: Sequence[str] = (),
    raw_text: str | None = None,
    tags: Sequence[str] | None = None,
    private: bool | None = None,
    batch_size: int = COLLECTION_BATCH_SIZE,
    *,
    credentials: VirusTotalCredentials,
) -> CollectionObject:
    """Create an IoC collection from indicators and/or free text.

    Args:
        name: the collection's name.
        description: its description.
        indicators: hashes, URLs, domains and IP addresses (any mix).
        raw_text: free text; VirusTotal extracts the indicators in it.
        tags: tags of the collection.
        private: whether the collection is private (write semantics UNCONFIRMED).
        batch_size: descriptors per request; more items are added after creation.
        credentials: the VirusTotal credentials block.

    Returns:
        The new collection (``id``, ``attributes.name``, ``attributes.domains_count``, ...).

    Raises:
        InvalidParameterError: no name (no request made).
        InvalidIndicatorError: an indicator is malformed (no request made).

    Example:
        ```python
        case = await create_collection(
            "IR-2041", "phishing wave", ["evil[.]example"], credentials=credentials
        )
        ```
    """
    async with credentials.get_client() as vt:
        collection = await vt.collections.create(
            name,
            description=description,
            tags=tags,
            private=private,
            items=indicators,
            raw_text=raw_text,
            batch_size=batch_size,
        )
    get_run_logger().info(
        "created collection %s (%r) with %d items (%s)",
        collection.id,
        name,
        collection.attributes.items_count,
        vt.request_figures(),
    )
    return collection


@task(name="VirusTotal: get collection", retries=0, cache_policy=NO_CACHE)
async def get_collection(collection_id: str, *, credentials: VirusTotalCredentials) -> CollectionObject:
    """Get an IoC collection.

    Args:
        collection_id: the collection's id.
        credentials: the VirusTotal credentials block.

    Returns:
        The collection with its attributes and item counts.

    Raises:
        NotFoundError: no such collection.
        ForbiddenError: a private collection of another user.

    Example:
        ```python
        case = await get_collection(collection_id, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        collection = await vt.collections.get(collection_id)
    get_run_logger().info("collection %s: %d items", collection.id, collection.attributes.items_count)
    return collection


@task(name="VirusTotal: update collection", retries=0, cache_policy=NO_CACHE)
async def update_collection(
    collection_id: str,
    name: str | None = None,
    description: str | None = None,
    tags: Sequence[str] | None = None,
    private: bool | None = None,
    raw_text: str | None = None,
    *,
    credentials: VirusTotalCredentials,
) -> CollectionObject:
    """Update a collection's attributes, and/or add the indicators found in free text.

    Args:
        collection_id: the collection's id.
        name: a new name.
        description: a new description.
        tags: the new tags (replace the old ones).
        private: the private flag.
        raw_text: free text whose indicators are added.
        credentials: the VirusTotal credentials block.

    Returns:
        The updated collection.

    Raises:
        InvalidParameterError: nothing to update (no request made).
        ForbiddenError: the collection belongs to another user.

    Example:
        ```python
        await update_collection(collection_id, name="IR-2041 (closed)", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        collection = await vt.collections.update(
            collection_id, name=name, description=description, tags=tags, private=private, raw_text=raw_text
        )
    get_run_logger().info("updated collection %s", collection.id)
    return collection


@task(name="VirusTotal: delete collection", retries=0, cache_policy=NO_CACHE)
async def delete_collection(collection_id: str, *, credentials: VirusTotalCredentials) -> None:
    """Delete a collection (owner only).

    Args:
        collection_id: the collection's id.
        credentials: the VirusTotal credentials block.

    Returns:
        None, like every delete of the pack (client and tasks): success is the absence of
        an error; nothing with that id is a ``NotFoundError``.

    Raises:
        ForbiddenError: the collection belongs to another user.
        NotFoundError: no such collection.

    Example:
        ```python
        await delete_collection(collection_id, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        await vt.collections.delete(collection_id)
    get_run_logger().info("deleted collection %s", collection_id)


@task(name="VirusTotal: add collection items", retries=0, cache_policy=NO_CACHE)
async def add_collection_items(
    collection_id: str,
    indicators: Sequence[str | Descriptor],
    batch_size: int = COLLECTION_BATCH_SIZE,
    *,
    credentials: VirusTotalCredentials,
) -> CollectionItemsUpdate:
    """Add indicators to a collection, in batches (adding one twice is harmless).

    Args:
        collection_id: the collection's id.
        indicators: hashes, URLs, domains and IP addresses (any mix), or descriptors.
        batch_size: descriptors per request.
        credentials: the VirusTotal credentials block.

    Returns:
        What was sent, per relationship, and how many requests it took.

    Raises:
        InvalidIndicatorError: an indicator is malformed (no request made).
        ForbiddenError: the collection belongs to another user.

    Example:
        ```python
        await add_collection_items(collection_id, ["1.2.3.4", sha256], credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        update = await vt.collections.add_items(collection_id, indicators, batch_size=batch_size)
    get_run_logger().info(
        "added %d items to collection %s in %d requests", update.count, collection_id, update.requests
    )
    return update


@task(name="VirusTotal: remove collection items", retries=0, cache_policy=NO_CACHE)
async def remove_collection_items(
    collection_id: str,
    indicators: Sequence[str | Descriptor],
    batch_size: int = COLLECTION_BATCH_SIZE,
    *,
    credentials: VirusTotalCredentials,
) -> CollectionItemsUpdate:
    """Remove indicators from a collection, in batches.

    Args:
        collection_id: the collection's id.
        indicators: hashes, URLs, domains and IP addresses (any mix), or descriptors
            (a URL known only by its SHA-256 id goes as ``Descriptor(type="url", id=...)``).
        batch_size: descriptors per request.
        credentials: the VirusTotal credentials block.

    Returns:
        What was sent, per relationship, and how many requests it took.

    Raises:
        InvalidIndicatorError: an indicator is malformed (no request made).
        ForbiddenError: the collection belongs to another user.

    Example:
        ```python
        await remove_collection_items(collection_id, ["1.2.3.4"], credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        update = await vt.collections.remove_items(collection_id, indicators, batch_size=batch_size)
    get_run_logger().info(
        "removed %d items from collection %s in %d requests", update.count, collection_id, update.requests
    )
    return update


@task(name="VirusTotal: list collection items", retries=0, cache_policy=NO_CACHE)
async def list_collection_items(
    collection_id: str, relationships: Sequence[str] | None = None, *, credentials: VirusTotalCredentials
) -> CollectionItems:
    """List every item of a collection (all pages), per relationship.

    Args:
        collection_id: the collection's id.
        relationships: some of ``domains``, ``files``, ``urls``, ``ip_addresses``; all by default.
        credentials: the VirusTotal credentials block.

    Returns:
        The items per relationship, as objects (``id``; URLs carry ``attributes.url``).

    Raises:
        NotFoundError: no such collection.

    Example:
        ```python
        listed = await list_collection_items(collection_id, ["domains"], credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        if relationships is None:
            listed = await vt.collections.all_items(collection_id)
        else:
            listed = await vt.collections.all_items(collection_id, relationships)
    get_run_logger().info("collection %s holds %d items", collection_id, listed.count)
    return listed


@task(name="VirusTotal: list user collections", retries=0, cache_policy=NO_CACHE)
async def list_user_collections(
    user_id: str, limit: int | None = None, *, credentials: VirusTotalCredentials
) -> list[CollectionObject]:
    """List a user's collections (the user's own, or another user's public ones).

    Args:
        user_id: the VirusTotal user id (account name), never the API key.
        limit: most collections to return.
        credentials: the VirusTotal credentials block.

    Returns:
        The collections.

    Example:
        ```python
        mine = await list_user_collections("my-team-account", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        found = await vt.collections.list_of_user(user_id, limit=limit).collect()
    get_run_logger().info("user %s has %d collections", user_id, len(found))
    return found


@task(name="VirusTotal: add collection comment", retries=0, cache_policy=NO_CACHE)
async def add_collection_comment(
    collection_id: str, text: str, *, credentials: VirusTotalCredentials
) -> CommentObject:
    """Comment on a collection.

    Args:
        collection_id: the collection's id.
        text: the comment (``#words`` become tags).
        credentials: the VirusTotal credentials block.

    Returns:
        The new comment.

    Raises:
        InvalidParameterError: an empty comment (no request made).

    Example:
        ```python
        await add_collection_comment(collection_id, "contained #ir2041", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        comment = await vt.collections.add_comment(collection_id, text)
    get_run_logger().info("commented on collection %s", collection_id)
    return comment


@task(name="VirusTotal: list collection comments", retries=0, cache_policy=NO_CACHE)
async def list_collection_comments(
    collection_id: str, limit: int | None = 40, *, credentials: VirusTotalCredentials
) -> list[CommentObject]:
    """List the comments on a collection.

    Args:
        collection_id: the collection's id.
        limit: most comments to return; None for all.
        credentials: the VirusTotal credentials block.

    Returns:
        The comments.

    Example:
        ```python
        comments = await list_collection_comments(collection_id, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        comments = await vt.collections.list_comments(collection_id, limit=limit).collect()
    get_run_logger().info("collection %s has %d comments listed", collection_id, len(comments))
    return comments


@task(name="VirusTotal: find collection", retries=0, cache_policy=NO_CACHE)
async def find_collection(
    collection_id: str, *, credentials: VirusTotalCredentials
) -> CollectionObject | None:
    """Get an IoC collection, or None when there is none by that id (yet).

    A collection that does not exist yet is an expected answer ("create it"), not a failure:
    the task run stays Completed and logs at INFO.

    Args:
        collection_id: the collection's id (a malformed id cannot name one: None, no request).
        credentials: the VirusTotal credentials block.

    Returns:
        The collection, or None.

    Raises:
        ForbiddenError: a private collection of another user.

    Example:
        ```python
        case = await find_collection(collection_id, credentials=credentials) or await create_collection(...)
        ```
    """
    async with credentials.get_client() as vt:
        collection = await ClientCollectionSteps(vt).find(collection_id)
    if collection is None:
        get_run_logger().info("no collection %r (yet)", collection_id)
        return None
    get_run_logger().info("collection %s: %d items", collection.id, collection.attributes.items_count)
    return collection
