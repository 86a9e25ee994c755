"""The sweep trainer's parts; ``reportgen.train`` is their public face.

``schedule`` groups runs into chunks and spreads them over processes;
``models`` holds one object per kind of model, found by the spec's ``kind``;
``torch_backend`` and ``kernel_backend`` train a chunk, with padded torch
programs or with the C kernel; ``adam``, ``parameters`` and ``job`` are
what both backends share.
"""
