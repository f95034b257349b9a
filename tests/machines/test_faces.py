import pytest
from PIL import Image

from licodec.machines.faces import Face, FaceMachine, f1, iou, landmark_error, score_faces
from tests.conftest import KODAK
from tests.machines.conftest import needs_faces

EYES_AND_NOSE = ((60.0, 40.0), (50.0, 40.0), (30.0, 40.0), (20.0, 40.0), (40.0, 60.0))


def face(box, shift=0.0):
    return Face(box, 1.0, tuple((x + shift, y) for x, y in EYES_AND_NOSE))


def test_iou_of_boxes():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (10, 10, 20, 20)) == 0.0


def test_faces_match_one_to_one_at_iou_one_half():
    reference = [face((0, 0, 100, 100)), face((200, 0, 300, 100))]
    found = [face((5, 0, 105, 100), shift=3.0), face((0, 5, 100, 105)), face((400, 0, 500, 100))]
    score = score_faces(reference, found)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 2, 1)
    assert f1(1, 2, 1) == pytest.approx(2 / 5)
    assert score_faces([], []).true_positives == 0 and f1(0, 0, 0) != f1(0, 0, 0)  # no face anywhere: F1 undefined (NaN)


def test_landmark_error_is_in_inter_ocular_distances():
    assert landmark_error(face((0, 0, 1, 1)), face((0, 0, 1, 1), shift=3.0)) == pytest.approx(3.0 / 30.0)


@needs_faces
def test_the_detector_finds_the_face_of_a_portrait_and_scores_itself_perfectly():
    with Image.open(KODAK / "kodim04.png") as im:
        portrait = im.convert("RGB")
    machine = FaceMachine()
    faces = machine.detect(portrait)
    assert len(faces) == 1 and len(faces[0].landmarks) == 5
    left, top, right, bottom = faces[0].box
    assert 0 <= left < right <= portrait.width and top < bottom
    score = score_faces(faces, machine.detect(portrait))
    assert (score.true_positives, score.false_positives, score.false_negatives, score.landmark_error) == (1, 0, 0, 0.0)
