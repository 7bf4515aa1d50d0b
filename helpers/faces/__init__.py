"""Faces: the on-disk format (data), hole and face-mask shapes (masks), the 68 landmarks
(landmarks) and real-photo tools (detect: dlib detection, landmarks, embeddings, FFHQ alignment)."""
