"""The course package: ``core`` (shared machinery), ``faces`` (face data and geometry),
``synthfaces`` (procedural faces with exact ground truth) and one subpackage per method
(``toygan``, ``dcgan``, ``glcic``, ...). Dependencies point one way: core <- faces <- synthfaces <- methods.
"""
