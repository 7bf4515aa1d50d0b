"""Faces: the on-disk format (data), hole and face-mask shapes (masks), the 68 landmarks
(landmarks), real-photo tools (detect: dlib detection, landmarks, embeddings, FFHQ alignment) and
the face-analysis network that measures generated faces (analysis; trained by helpers.analysis)."""
