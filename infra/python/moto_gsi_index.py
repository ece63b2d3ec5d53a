"""Sorted copies of moto's global secondary indexes, kept up to date on every write.

moto answers a GSI query by walking every item of the table, sorting the matches, and then
skipping, one comparison at a time, everything up to the page's ExclusiveStartKey. Each page
therefore costs the whole table: paging 100,000 followers out of a 250,000-item table took
seconds per page, under the launcher's DynamoDB lock, so every other request waited.

Here the first query on an index sorts all of it once, by moto's own order; every put, delete
and update (in place or not) then moves just the items it touched. A page becomes a binary
search and a slice, which is handed to moto's own query code, so the answers stay moto's
(moto_patches_check.py compares them with unpatched moto, writes between pages included).

Only the common shape is indexed: a GSI with one hash and one range key, string key values,
a string-keyed table and a single-attribute key condition. Anything else returns None and moto
does it its own way.
"""

from bisect import bisect_left, bisect_right

from moto.dynamodb.models.dynamo_type import DynamoType, Item

# The attribute a table's index state is kept in; copy.deepcopy of a table (transaction
# rollback, backups) copies it together with the items it refers to, so it stays consistent.
STATE = "_livenotify_gsi_state"


class Partition:
    """The items of one GSI hash value, in moto's query order, with their sort keys."""

    __slots__ = ("keys", "items")

    def __init__(self, rows):
        rows.sort(key=lambda row: row[0])
        self.keys = [key for key, _ in rows]
        self.items = [item for _, item in rows]

    def insert(self, key, item):
        at = bisect_left(self.keys, key)
        self.keys.insert(at, key)
        self.items.insert(at, item)

    def remove(self, key):
        # Sort keys end with the table key, so they are unique: this removes that one item.
        at = bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            del self.keys[at]
            del self.items[at]


class Shape:
    """What an index is sorted and partitioned by."""

    __slots__ = ("hash_attr", "range_attr", "sort_attrs")

    def __init__(self, table, index):
        schema = {key["KeyType"]: key["AttributeName"] for key in index.schema}
        self.hash_attr = schema["HASH"]
        self.range_attr = schema["RANGE"]
        # moto sorts GSI results by these attributes' values (Table.sorted_items).
        self.sort_attrs = table._generate_attr_to_sort_by(
            [self.hash_attr, table.hash_key_attr], [self.range_attr, table.range_key_attr]
        )

    def partition_of(self, item):
        """The hash value this item is indexed under, or None (not in the index, or not a
        string and so never served from here)."""
        value = item.attrs.get(self.hash_attr)
        if value is None or value.type != "S" or item.attrs.get(self.range_attr) is None:
            return None
        return value.value

    def sort_key(self, attrs, typed=True):
        """The item's (or a start key's) position: its sort attributes' string values, or
        None when one is missing or not a string (its order would not be a string order)."""
        key = []
        for name in self.sort_attrs:
            value = attrs.get(name)
            if value is None:
                return None
            kind, raw = (value.type, value.value) if typed else next(iter(value.items()), (None, None))
            if kind != "S":
                return None
            key.append(raw)
        return tuple(key)


def shape_of(table, index_name):
    """The index's shape, or None if it is not one this module keeps."""
    if table.hash_key_type != "S" or (table.range_key_attr and table.range_key_type != "S"):
        return None
    index = next((i for i in table.global_indexes or [] if i.name == index_name), None)
    if index is None:
        return None
    kinds = sorted(key["KeyType"] for key in index.schema)
    if kinds != ["HASH", "RANGE"]:
        return None
    return Shape(table, index)


def table_items(table):
    for partition in table.items.values():
        if table.range_key_attr:
            yield from partition.values()
        else:
            yield partition


def table_key(hash_value, range_value):
    return (hash_value.value, range_value.value if range_value is not None else None)


class TableState:
    """Every built index of one table, and which partitions each item is in."""

    def __init__(self):
        # index name -> (shape, {hash value -> Partition, or None if it cannot be served})
        self.indexes = {}
        # table key -> [(index name, hash value, sort key)]
        self.members = {}

    def build(self, table, name, shape):
        rows = {}
        unservable = set()
        for item in table_items(table):
            value = shape.partition_of(item)
            if value is None:
                continue
            key = shape.sort_key(item.attrs)
            if key is None:
                unservable.add(value)
                continue
            rows.setdefault(value, []).append((key, item))
            self.members.setdefault(table_key(item.hash_key, item.range_key), []).append(
                (name, value, key)
            )
        partitions = {value: Partition(r) for value, r in rows.items()}
        for value in unservable:
            partitions[value] = None
        self.indexes[name] = (shape, partitions)

    def refresh(self, table, hash_value, range_value):
        """Re-files the item at this table key after a write, from what the table now holds."""
        key = table_key(hash_value, range_value)
        for name, value, sort_key in self.members.pop(key, ()):
            partition = self.indexes.get(name, (None, {}))[1].get(value)
            if partition is not None:
                partition.remove(sort_key)
        stored = table.items.get(hash_value)
        item = stored.get(range_value) if stored is not None and range_value is not None else stored
        if not isinstance(item, Item):
            return
        for name, (shape, partitions) in self.indexes.items():
            value = shape.partition_of(item)
            if value is None:
                continue
            sort_key = shape.sort_key(item.attrs)
            if sort_key is None:
                partitions[value] = None
                continue
            if value not in partitions:
                partitions[value] = Partition([])
            partition = partitions[value]
            if partition is None:
                continue
            partition.insert(sort_key, item)
            self.members.setdefault(key, []).append((name, value, sort_key))


def refresh(table, hash_value, range_value):
    state = table.__dict__.get(STATE)
    if state is not None and table.hash_key_type == "S":
        state.refresh(table, hash_value, range_value)


def forget(table):
    """Drops the table's indexes (its key schema or set of indexes changed)."""
    table.__dict__.pop(STATE, None)


def page_candidates(table, index_name, conditions, range_key_conditions, range_comparison,
                    limit, start, forward, filter_kwargs):
    """The items moto has to look at for this GSI query page, in moto's sorted order, or None
    when the query is not one this module answers."""
    shape = shape_of(table, index_name)
    if shape is None or len(conditions) != 1 or (range_key_conditions and len(range_key_conditions) > 1):
        return None
    name, value = conditions[0]
    if name != shape.hash_attr or value.type != "S":
        return None
    state = table.__dict__.get(STATE)
    if state is None:
        state = table.__dict__[STATE] = TableState()
    if index_name not in state.indexes:
        state.build(table, index_name, shape)
    partitions = state.indexes[index_name][1]
    if value.value not in partitions:
        return []
    partition = partitions[value.value]
    if partition is None:
        return None
    low, high = 0, len(partition.keys)
    if start is not None:
        start_key = shape.sort_key(start, typed=False)
        if start_key is None:
            return None
        # moto skips the items at or before the start key in the direction of the query.
        if forward:
            low = bisect_right(partition.keys, start_key)
        else:
            high = bisect_left(partition.keys, start_key)
    # Without a range condition or legacy filter every item moto looks at is a result, so it
    # needs one more than the limit to see that the page is full.
    if limit is not None and not range_comparison and not filter_kwargs:
        if forward:
            high = min(high, low + limit + 1)
        else:
            low = max(low, high - limit - 1)
    return partition.items[low:high]


def install():
    """Keeps the indexes current on every write path of moto's DynamoDB backend."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    put_item = Table.put_item
    delete_item = Table.delete_item
    update_item = DynamoDBBackend.update_item
    update_table = DynamoDBBackend.update_table

    def put(self, *args, **kwargs):
        item = put_item(self, *args, **kwargs)
        refresh(self, item.hash_key, item.range_key)
        return item

    def delete(self, hash_key, range_key=None, *args, **kwargs):
        try:
            return delete_item(self, hash_key, range_key, *args, **kwargs)
        finally:
            refresh(self, hash_key, range_key)

    def update(self, table_name, key, *args, **kwargs):
        # Updates change the stored item in place; re-file it even if the update raised
        # part-way, from whatever the table holds now.
        try:
            return update_item(self, table_name, key, *args, **kwargs)
        finally:
            table = self.tables.get(table_name)
            if table is not None and isinstance(key, dict) and table.hash_key_attr in key:
                range_raw = key.get(table.range_key_attr) if table.range_key_attr else None
                refresh(
                    table,
                    DynamoType(key[table.hash_key_attr]),
                    DynamoType(range_raw) if range_raw is not None else None,
                )

    def changed_table(self, name, *args, **kwargs):
        try:
            return update_table(self, name, *args, **kwargs)
        finally:
            table = self.tables.get(name)
            if table is not None:
                forget(table)

    Table.put_item = put
    Table.delete_item = delete
    DynamoDBBackend.update_item = update
    DynamoDBBackend.update_table = changed_table
