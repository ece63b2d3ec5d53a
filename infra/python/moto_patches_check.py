"""Checks that the moto launcher's speed-ups (infra/python/moto_server.py) do not change
moto's answers: the same randomised table, queries (table and index queries, both
directions, limits, 1 MB pages, filters, projections, sparse indexes) and writes between and
during index queries run against patched and unpatched moto in two processes, and the answers
must be identical. Run by the test command.

Usage: moto_patches_check.py            (compares, exit 1 on any difference)
       moto_patches_check.py plain|patched   (prints one side's answers as JSON)
"""
import os
import subprocess
import sys

# In-process moto (mock_aws) only: an endpoint set for the local stack (the test command sets
# AWS_ENDPOINT_URL for its moto server) would send these requests to that server instead.
for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[name]
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

if len(sys.argv) == 1:
    # Both sides at once: they are independent processes.
    sides = [
        subprocess.Popen([sys.executable, __file__, side], stdout=subprocess.PIPE)
        for side in ("plain", "patched")
    ]
    answers = [side.communicate()[0] for side in sides]
    if any(side.returncode != 0 for side in sides):
        print("moto_patches_check: a side failed", file=sys.stderr)
        sys.exit(1)
    if answers[0] != answers[1]:
        print("moto_patches_check: patched moto answers differently from moto", file=sys.stderr)
        sys.exit(1)
    print(f"moto_patches_check: identical answers ({len(answers[0])} bytes of query results)")
    sys.exit(0)

import json, random
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
patched = sys.argv[1] == "patched"
if patched:
    import moto_server
    moto_server.queries_read_only_their_partition()
from moto import mock_aws
import boto3
random.seed(5)
out=[]
with mock_aws():
    c=boto3.client('dynamodb',region_name='us-east-1')
    attrs=[('PK','S'),('SK','S'),('GSI1PK','S'),('GSI1SK','S'),('GSI2PK','S'),('GSI2SK','S')]
    t='cmp'
    c.create_table(TableName=t,BillingMode='PAY_PER_REQUEST',AttributeDefinitions=[{'AttributeName':a,'AttributeType':ty} for a,ty in attrs],
     KeySchema=[{'AttributeName':'PK','KeyType':'HASH'},{'AttributeName':'SK','KeyType':'RANGE'}],
     GlobalSecondaryIndexes=[{'IndexName':'GSI1','KeySchema':[{'AttributeName':'GSI1PK','KeyType':'HASH'},{'AttributeName':'GSI1SK','KeyType':'RANGE'}],'Projection':{'ProjectionType':'ALL'}},
                             {'IndexName':'GSI2','KeySchema':[{'AttributeName':'GSI2PK','KeyType':'HASH'},{'AttributeName':'GSI2SK','KeyType':'RANGE'}],'Projection':{'ProjectionType':'KEYS_ONLY'}}])
    for b in range(0,1200,25):
        items=[]
        for i in range(b,b+25):
            it={'PK':{'S':f'ACC#{i%3}'},'SK':{'S':f'FOL#{random.randint(0,10**9):010d}'},'big':{'S':'x'*random.randint(10,6000)},'n':{'N':str(i)},'tags':{'L':[{'N':'1'}]},'m':{'M':{'a':{'S':'b'},'c':{'NS':['1','2']}}}}
            if i%2: it.update({'GSI1PK':{'S':f'G#{i%5}'},'GSI1SK':{'S':f'{i:06d}'}})
            if i%3==0: it.update({'GSI2PK':{'S':'S'},'GSI2SK':{'S':f'{i%7}'}})
            items.append({'PutRequest':{'Item':it}})
        c.batch_write_item(RequestItems={t:items})
    def pages(**kw):
        res=[]; start=None
        while True:
            args=dict(kw)
            if start: args['ExclusiveStartKey']=start
            r=c.query(TableName=t,**args)
            res.append((r['Count'],r['ScannedCount'],r['Items'],r.get('LastEvaluatedKey')))
            start=r.get('LastEvaluatedKey')
            if not start: break
        return res
    out.append(pages(KeyConditionExpression='PK = :p',ExpressionAttributeValues={':p':{'S':'ACC#1'}}))
    out.append(pages(KeyConditionExpression='PK = :p AND begins_with(SK, :s)',ExpressionAttributeValues={':p':{'S':'ACC#2'},':s':{'S':'FOL#1'}},ScanIndexForward=False,Limit=37))
    out.append(pages(IndexName='GSI1',KeyConditionExpression='GSI1PK = :p',ExpressionAttributeValues={':p':{'S':'G#3'}}))
    out.append(pages(IndexName='GSI2',KeyConditionExpression='GSI2PK = :p AND GSI2SK > :s',ExpressionAttributeValues={':p':{'S':'S'},':s':{'S':'3'}},Limit=50))
    out.append(pages(KeyConditionExpression='PK = :p',ExpressionAttributeValues={':p':{'S':'ACC#0'},':m':{'N':'600'}},FilterExpression='n > :m',ProjectionExpression='PK, SK, m.a, n'))
    # the stored items are untouched by projections
    out.append(pages(KeyConditionExpression='PK = :p',ExpressionAttributeValues={':p':{'S':'ACC#0'}},Limit=20))
    # Writes between (and in the middle of) index queries: the maintained GSI copies
    # (moto_gsi_index.py) must follow puts, overwrites, in-place updates that move an item
    # between partitions or out of an index, deletes, batch writes and transactions, both
    # committed and rolled back.
    def gsi_pages(index, value, forward=True, limit=None, write_between=None):
        res=[]; start=None
        while True:
            args=dict(TableName=t,IndexName=index,KeyConditionExpression=f'{index}PK = :p',ExpressionAttributeValues={':p':{'S':value}},ScanIndexForward=forward,ProjectionExpression='PK, SK, n')
            if limit: args['Limit']=limit
            if start: args['ExclusiveStartKey']=start
            r=c.query(**args)
            res.append((r['Count'],r['Items'],r.get('LastEvaluatedKey')))
            start=r.get('LastEvaluatedKey')
            if not start: break
            if write_between: write_between()
        return res
    keys=[{'PK':{'S':f'ACC#{i%3}'},'SK':{'S':f'NEW#{i:05d}'}} for i in range(400)]
    def random_write():
        k=random.choice(keys); kind=random.randrange(7)
        try:
            if kind==0:
                it=dict(k, n={'N':str(random.randint(0,99))})
                if random.random()<0.8: it.update({'GSI1PK':{'S':f'G#{random.randrange(5)}'},'GSI1SK':{'S':f'{random.randrange(2000):06d}'}})
                if random.random()<0.5: it.update({'GSI2PK':{'S':'S'},'GSI2SK':{'S':str(random.randrange(7))}})
                c.put_item(TableName=t,Item=it)
            elif kind==1:
                c.update_item(TableName=t,Key=k,UpdateExpression='SET GSI1PK = :p, GSI1SK = :s ADD n :one',ExpressionAttributeValues={':p':{'S':f'G#{random.randrange(5)}'},':s':{'S':f'{random.randrange(2000):06d}'},':one':{'N':'1'}})
            elif kind==2:
                c.update_item(TableName=t,Key=k,UpdateExpression='REMOVE GSI1PK')
            elif kind==3:
                c.delete_item(TableName=t,Key=k)
            elif kind==4:
                batch=random.sample(keys,10)
                c.batch_write_item(RequestItems={t:[{'DeleteRequest':{'Key':b}} if random.random()<0.3 else {'PutRequest':{'Item':dict(b,GSI1PK={'S':'G#1'},GSI1SK={'S':f'{random.randrange(2000):06d}'})}} for b in batch]})
            elif kind==5:
                a,b=random.sample(keys,2)
                # Rolled back when b does not exist: neither write may show.
                c.transact_write_items(TransactItems=[
                    {'Put':{'TableName':t,'Item':dict(a,GSI1PK={'S':'G#2'},GSI1SK={'S':'000999'})}},
                    {'Update':{'TableName':t,'Key':b,'UpdateExpression':'SET GSI1PK = :p, GSI1SK = :s','ConditionExpression':'attribute_exists(PK)','ExpressionAttributeValues':{':p':{'S':'G#3'},':s':{'S':'000998'}}}}])
            else:
                c.put_item(TableName=t,Item=dict(k,GSI1PK={'S':'G#4'},GSI1SK={'S':'000100'}),ConditionExpression='attribute_not_exists(PK)')
        except c.exceptions.TransactionCanceledException:
            out.append('cancelled')
        except c.exceptions.ConditionalCheckFailedException:
            out.append('condition')
    for round_ in range(12):
        for _ in range(20): random_write()
        value=f'G#{random.randrange(5)}'
        forward=random.random()<0.5
        limit=random.choice([None,9,50])
        between=(lambda: [random_write() for _ in range(3)]) if round_%3==0 else None
        out.append(gsi_pages('GSI1',value,forward,limit,between))
        out.append(gsi_pages('GSI2','S',forward,random.choice([None,40])))
print(json.dumps(out, sort_keys=True))
