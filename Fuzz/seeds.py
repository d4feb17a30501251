"""Writes the fuzz seed corpora from a sample bundle: Fuzz/seeds.py BUNDLE OUTDIR."""
import gzip, io, os, sys, tarfile, zipfile

bundle, out = sys.argv[1], sys.argv[2]
def put(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), 'wb') as f:
        f.write(data)

raw = open(bundle, 'rb').read()
put('zip', 'sample.zip', raw)
put('bundle', 'sample.zip', raw)
# The same bundle stored uncompressed, so mutations of the JSON inside stay readable.
stored = os.path.join(out, 'stored.zip')
with zipfile.ZipFile(bundle) as a, zipfile.ZipFile(stored, 'w', zipfile.ZIP_STORED) as b:
    for info in a.infolist():
        data = a.read(info.filename)
        info.compress_type = zipfile.ZIP_STORED
        b.writestr(info, data)
put('zip', 'stored.zip', open(stored, 'rb').read())
put('bundle', 'stored.zip', open(stored, 'rb').read())
# The same bundle as a tar.gz (the reader tells the two apart by their first bytes), once at gzip
# level 0 so that mutations reach the tar headers and the files rather than the deflate stream.
tar = io.BytesIO()
with zipfile.ZipFile(bundle) as z, tarfile.open(fileobj=tar, mode='w', format=tarfile.PAX_FORMAT) as t:
    for info in z.infolist():
        data = z.read(info.filename)
        member = tarfile.TarInfo(info.filename)
        member.size = len(data)
        t.addfile(member, io.BytesIO(data))
put('bundle', 'sample.tar.gz', gzip.compress(tar.getvalue(), compresslevel=6, mtime=0))
put('bundle', 'stored.tar.gz', gzip.compress(tar.getvalue(), compresslevel=0, mtime=0))
with zipfile.ZipFile(bundle) as z:
    for info in z.infolist():
        data = z.read(info.filename)
        base = info.filename.split('/')[-1]
        if base == 'manifest.json':
            put('manifest', 'manifest.json', data)
        if base.endswith('.json'):
            put('json', base, data)
        # Data-file targets: a selector byte (0 quotation_requests, 1 account; see FuzzDatasets.swift), then the file.
        for selector, dataset in enumerate(['quotation_requests', 'account']):
            for fmt, target in [('json', 'jsondata'), ('csv', 'csv'), ('xml', 'xml')]:
                if info.filename.endswith('/data/%s/%s.%s' % (fmt, dataset, fmt)):
                    put(target, dataset + '.' + fmt, bytes([selector]) + data)
# A data file for the jsondata target's dataset (one field of every type).
put('jsondata', 'sample.json', b'\x02{"format":"dataport-dataset","version":"1.0","dataset":"sample","fields":['
    b'{"name":"id","type":"integer"},{"name":"name","type":"string"},{"name":"ok","type":"boolean"},'
    b'{"name":"amount","type":"decimal"},{"name":"at","type":"timestamp"},{"name":"day","type":"date"},'
    b'{"name":"blob","type":"binary"}],"records":[\n'
    b'{"id":1,"name":"Ana Mar\\u00eda \\ud83d\\ude00","ok":true,"amount":"12500.00","at":"2024-05-01T10:30:00Z","day":"1988-02-29","blob":"aGVsbG8="},\n'
    b'{"id":-9223372036854775808,"name":null,"ok":false,"amount":"-0.5","at":null,"day":"2024-12-31","blob":""}\n]}\n')
put('jsondata', 'empty.json', b'\x02{"format":"dataport-dataset","version":"1.0","dataset":"sample","fields":['
    b'{"name":"id","type":"integer"},{"name":"name","type":"string"},{"name":"ok","type":"boolean"},'
    b'{"name":"amount","type":"decimal"},{"name":"at","type":"timestamp"},{"name":"day","type":"date"},'
    b'{"name":"blob","type":"binary"}],"records":[]}\n')
